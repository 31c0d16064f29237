// Santa's sync messages (sync_v1.proto beside this file) through protobufjs: binary bodies from
// clients with SyncEnableProtoTransfer, decoded into the object the JSON routes read, and the
// routes' JSON answers re-encoded through protobuf's own JSON mapping, so that one route serves
// both transfers and the proto decides what each field means on the wire.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import protojson from 'protobufjs/ext/protojson.js';
import { snakeCase } from '../../common/santa';

export const SANTA_STAGES = ['preflight', 'eventupload', 'ruledownload', 'postflight'] as const;
export type SantaStage = (typeof SANTA_STAGES)[number];

const MESSAGE_NAMES: Record<SantaStage, string> = {
  preflight: 'Preflight',
  eventupload: 'EventUpload',
  ruledownload: 'RuleDownload',
  postflight: 'Postflight',
};

/** keepCase: the reflected field names are the proto's own (`serial_number`, `sip_status`). */
export const syncV1 = protobuf.parse(
  readFileSync(join(import.meta.dirname, 'sync_v1.proto'), 'utf8'),
  { keepCase: true },
).root;
syncV1.resolveAll();

export function santaMessage(stage: SantaStage, direction: 'Request' | 'Response'): protobuf.Type {
  return syncV1.lookupType(`santa.sync.v1.${MESSAGE_NAMES[stage]}${direction}`);
}

export function isSantaStage(value: string): value is SantaStage {
  return (SANTA_STAGES as readonly string[]).includes(value);
}

/** Every key of a ProtoJSON value in snake_case, at every depth, as the JSON routes read them. */
function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [snakeCase(key), snakeKeys(item)]),
  );
}

/**
 * The most messages (the request and every nested one: events, certificates, entitlements...) a
 * request may hold. Decoded, each costs far more than its two smallest bytes on the wire (an
 * empty event is 2 bytes, and protobufjs gives it its own object and arrays), so 8 MiB of empty
 * events would take over a gigabyte and tens of seconds; a batch of Santa's events holds a few
 * thousand.
 */
export const MAX_MESSAGES = 100_000;

export class TooManyMessages extends Error {}

/** Counts the messages in a body without building them; throws once there are too many. */
function countMessages(
  type: protobuf.Type,
  reader: protobuf.Reader,
  end: number,
  seen: { n: number },
): void {
  while (reader.pos < end) {
    const tag = reader.uint32();
    const field = type.fieldsById[tag >>> 3];
    if ((tag & 7) === 2 && field?.resolvedType instanceof protobuf.Type) {
      if (++seen.n > MAX_MESSAGES) throw new TooManyMessages();
      const length = reader.uint32();
      if (reader.pos + length > end) throw new Error(`${field.name} runs past its end`);
      countMessages(field.resolvedType, reader, reader.pos + length, seen);
    } else {
      reader.skipType(tag & 7);
    }
  }
}

/**
 * A binary request as the JSON route would have received it from a JSON client: the proto's JSON
 * names (`serial_num`, `sipStatus`) in snake_case, enums by name, defaults left out. Throws with
 * protobufjs's reason when the bytes are not the stage's message.
 */
export function decodeSantaRequest(stage: SantaStage, body: Uint8Array): Record<string, unknown> {
  const type = santaMessage(stage, 'Request');
  countMessages(type, protobuf.Reader.create(body), body.length, { n: 1 });
  return snakeKeys(protojson.toJson(type, type.decode(body))) as Record<string, unknown>;
}

/**
 * A route's JSON answer as the stage's binary response: read as ProtoJSON (proto and JSON names
 * alike; unknown keys and enum names ignored, as Santa's own JSON parsing does), then encoded.
 */
export function encodeSantaResponse(stage: SantaStage, json: unknown): Uint8Array {
  const type = santaMessage(stage, 'Response');
  return type.encode(protojson.fromJson(type, json, { ignoreUnknownFields: true })).finish();
}
