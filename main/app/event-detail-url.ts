// Santa's EventDetailURL: placeholders expanded with the blocked event's values, each value
// percent-encoded so that only RFC 3986 unreserved characters are left, and a placeholder
// without a value left as it is. The block dialog's Open button takes its URL and label from the
// file's rule first, as Santa does.
import { RULE_DETAIL_LIMITS } from '../../common/rules';

export interface EventDetailValues {
  /** SHA-256 of the file. */
  readonly fileIdentifier?: string;
  /** Bundle hash when there is one (macOS), else the file's SHA-256. */
  readonly bundleOrFileIdentifier?: string;
  readonly fileBundleId?: string;
  readonly teamId?: string;
  readonly signingId?: string;
  readonly cdhash?: string;
  readonly username?: string;
  readonly machineId?: string;
  readonly hostname?: string;
  readonly uuid?: string;
  readonly serial?: string;
}

const PLACEHOLDERS: Record<string, keyof EventDetailValues> = {
  file_identifier: 'fileIdentifier',
  bundle_or_file_identifier: 'bundleOrFileIdentifier',
  file_sha: 'bundleOrFileIdentifier',
  file_bundle_id: 'fileBundleId',
  team_id: 'teamId',
  signing_id: 'signingId',
  cdhash: 'cdhash',
  username: 'username',
  machine_id: 'machineId',
  hostname: 'hostname',
  uuid: 'uuid',
  serial: 'serial',
};

/** Percent-encodes everything but A–Z a–z 0–9 - . _ ~ (encodeURIComponent also keeps !'()*). */
export function encodeUnreserved(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export function expandEventDetailUrl(template: string, values: EventDetailValues): string {
  return template.replace(/%([a-z_]+)%/g, (token, name: string) => {
    const key = Object.hasOwn(PLACEHOLDERS, name) ? PLACEHOLDERS[name] : undefined;
    const value = key ? values[key] : undefined;
    return value === undefined || value === '' ? token : encodeUnreserved(value);
  });
}

/** Santa shows the Open button only for a URL that is set and not "null". */
export function hasEventDetailUrl(template: string | undefined): template is string {
  return template !== undefined && template.trim() !== '' && template.trim() !== 'null';
}

/** The block dialog's Open button: the URL it opens (with placeholders) and what it says. */
export interface DetailLink {
  readonly template: string;
  readonly label: string;
  /** Where the URL came from, for the error when it is not one the app may open. */
  readonly source: "the rule's custom_url" | 'EventDetailURL';
}

/** The texts of the file's rule that decide the button, as `fileinfo` answers them. */
export interface RuleLinkTexts {
  readonly customUrl?: unknown;
  readonly eventDetailButtonLabel?: unknown;
}

/** A rule text that is a string within Santa's limit, and not blank; else undefined. */
function ruleText(value: unknown, max: number): string | undefined {
  return typeof value === 'string' && value.trim() !== '' && value.length <= max
    ? value.trim()
    : undefined;
}

/**
 * Santa's choice: the rule's custom_url, else EventDetailURL; the rule's
 * event_detail_button_label, else EventDetailText, else "Open…"; no button without a URL.
 */
export function detailLinkOf(
  rule: RuleLinkTexts,
  settings: { readonly eventDetailUrl?: string; readonly eventDetailText?: string },
): DetailLink | null {
  const customUrl = ruleText(rule.customUrl, RULE_DETAIL_LIMITS.custom_url);
  const label =
    ruleText(rule.eventDetailButtonLabel, RULE_DETAIL_LIMITS.event_detail_button_label) ??
    settings.eventDetailText ??
    'Open…';
  if (customUrl !== undefined && hasEventDetailUrl(customUrl))
    return { template: customUrl, label, source: "the rule's custom_url" };
  if (hasEventDetailUrl(settings.eventDetailUrl))
    return { template: settings.eventDetailUrl, label, source: 'EventDetailURL' };
  return null;
}
