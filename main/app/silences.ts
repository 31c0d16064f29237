// "Don't show again for this binary": Santa's silences, keyed `binary:<sha256>`, each with its
// expiry; expired ones are dropped when read. Kept in a JSON file in the user's app data.
import { SILENCE_PERIODS, type SilencePeriod } from '../../common/ipc';

export interface SilenceFile {
  read(): string | undefined;
  write(text: string): void;
}

export class SilenceStore {
  readonly #file: SilenceFile;

  constructor(file: SilenceFile) {
    this.#file = file;
  }

  #load(now: number): Record<string, number> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(this.#file.read() ?? '{}');
    } catch {
      parsed = {};
    }
    const kept: Record<string, number> = {};
    if (typeof parsed === 'object' && parsed !== null) {
      for (const [key, expiry] of Object.entries(parsed)) {
        if (typeof expiry === 'number' && expiry > now) kept[key] = expiry;
      }
    }
    return kept;
  }

  isSilenced(sha256: string, now = Date.now()): boolean {
    return `binary:${sha256}` in this.#load(now);
  }

  silence(sha256: string, period: SilencePeriod, now = Date.now()): void {
    const silences = this.#load(now);
    silences[`binary:${sha256}`] = now + SILENCE_PERIODS[period] * 1000;
    this.#file.write(JSON.stringify(silences));
  }
}
