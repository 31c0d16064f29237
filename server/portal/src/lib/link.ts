// The portal's links: Santa's EventDetailURL fills the file and the machine in (percent-encoded);
// a placeholder left as is (`%file_identifier%`) means Santa had no value, and the server says so.
export interface BlockLink {
  readonly sha: string;
  readonly machine: string;
}

export function linkOf(search: string): BlockLink {
  const params = new URLSearchParams(search);
  return { sha: params.get('sha') ?? '', machine: params.get('machine') ?? '' };
}

export const blockedQuery = (link: BlockLink): string =>
  new URLSearchParams({ sha: link.sha, machine: link.machine }).toString();
