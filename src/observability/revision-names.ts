// Which service and configuration each revision belongs to, kept from the store's watch, so
// series can carry Knative's service_name / configuration_name labels at scrape time without a
// store read per scrape.

import { Labels } from '../api/types.js';
import type { Store } from '../store/store.js';
import { keyOnlyLabeler, type RevisionLabeler, type RevisionNames } from '../dataplane/metrics.js';

const REVISIONS = 'serving.knative.dev/revisions';

export class RevisionNameIndex {
  private readonly names = new Map<string, RevisionNames>();
  private stop?: () => void;

  /** Takes the revisions there are (the watch starts with them), then follows changes. */
  async start(store: Store): Promise<void> {
    this.stop = await store.watch(
      REVISIONS,
      {},
      {
        onEvent: (e) => {
          if (e.type === 'DELETED') this.names.delete(`${e.object.metadata.namespace ?? ''}/${e.object.metadata.name}`);
          else this.put(e.object.metadata);
        },
      },
    );
  }

  close(): void {
    this.stop?.();
  }

  readonly labeler: RevisionLabeler = (key) => this.names.get(key) ?? keyOnlyLabeler(key);

  private put(m: { namespace?: string; name?: string; labels?: Record<string, string> }): void {
    const namespace = m.namespace ?? '';
    const revision = m.name ?? '';
    this.names.set(`${namespace}/${revision}`, {
      namespace,
      revision,
      configuration: m.labels?.[Labels.configuration] ?? '',
      service: m.labels?.[Labels.service] ?? '',
    });
  }
}
