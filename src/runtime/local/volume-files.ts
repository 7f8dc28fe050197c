// An instance's own directory, dataDir/instances/{namespace}/{revision}/{instanceId}/:
//   volumes/{volume}/             the volume's files (emptyDir: an empty directory shared by the
//                                 instance's containers, kept across restarts, gone with the instance)
//   mounts/{container}{mountPath} a symlink to the volume (or its subPath): the container's view,
//                                 whose root it gets as SLUICE_MOUNT_ROOT
// configMap / secret / projected volumes are written as the kubelet's atomic writer does: the
// files go to a fresh hidden directory, `..data` is switched to it with one rename, and each
// top-level name is a symlink through `..data`, so a reader never sees half an update.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { MountPlan, VolumeContent, VolumeFile } from './volumes.js';

const safeSegment = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+$/, '_') || '_';

export function instanceDir(root: string, namespace: string, revision: string, instanceId: string): string {
  return path.join(root, safeSegment(namespace), safeSegment(revision), safeSegment(instanceId));
}

function digest(files: readonly VolumeFile[]): string {
  const h = crypto.createHash('sha256');
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : 1))) h.update(`${f.path}\0${f.mode}\0`).update(f.data).update('\0');
  return h.digest('hex');
}

/** Writes `files` into `dir` atomically (see the header). */
export function writeAtomic(dir: string, files: readonly VolumeFile[]): void {
  fs.mkdirSync(dir, { recursive: true });
  const stamp = `..${new Date().toISOString().replace(/[-:.TZ]/g, '_')}${crypto.randomBytes(4).toString('hex')}`;
  const staged = path.join(dir, stamp);
  fs.mkdirSync(staged);
  for (const f of files) {
    const file = path.join(staged, f.path);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, f.data, { mode: f.mode });
    fs.chmodSync(file, f.mode); // the umask must not change the mode asked for
  }
  const tmp = path.join(dir, '..data_tmp');
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(stamp, tmp);
  fs.renameSync(tmp, path.join(dir, '..data'));
  const top = new Set(files.map((f) => f.path.split('/')[0]));
  for (const name of top) {
    const link = path.join(dir, name);
    if (!fs.lstatSync(link, { throwIfNoEntry: false })) fs.symlinkSync(path.join('..data', name), link);
  }
  // The previous generation and names no longer in the volume go.
  for (const entry of fs.readdirSync(dir)) {
    if (entry === '..data' || entry === stamp) continue;
    if (entry.startsWith('..') || !top.has(entry)) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
  }
}

export class InstanceFiles {
  private readonly written = new Map<string, string>();

  constructor(readonly root: string) {}

  volumeDir(name: string): string {
    return path.join(this.root, 'volumes', safeSegment(name));
  }

  mountRoot(container: string): string {
    return path.join(this.root, 'mounts', safeSegment(container));
  }

  /** Brings every volume's files up to date; a volume whose content did not change is left alone. */
  writeVolumes(plan: ReadonlyMap<string, VolumeContent>): void {
    for (const [name, content] of plan) {
      const dir = this.volumeDir(name);
      if (content.kind === 'emptyDir') {
        fs.mkdirSync(dir, { recursive: true, mode: 0o777 });
        continue;
      }
      const d = digest(content.files);
      if (this.written.get(name) === d) continue;
      writeAtomic(dir, content.files);
      this.written.set(name, d);
    }
  }

  /**
   * Lays out the container's mounts under its mount root and returns where each mountPath is
   * for this instance.
   */
  linkMounts(container: string, mounts: readonly MountPlan[]): { mountPath: string; localPath: string }[] {
    if (mounts.length === 0) return []; // most containers: no file system work on the start path
    const base = this.mountRoot(container);
    fs.rmSync(base, { recursive: true, force: true });
    fs.mkdirSync(base, { recursive: true });
    return mounts.map((m) => {
      const localPath = path.join(base, m.mountPath);
      let target = this.volumeDir(m.volume);
      if (m.subPath) {
        target = path.join(target, m.subPath);
        // As the kubelet does for a subPath that is not there yet (emptyDir): create the directory.
        if (!fs.lstatSync(target, { throwIfNoEntry: false })) fs.mkdirSync(target, { recursive: true });
      }
      fs.mkdirSync(path.dirname(localPath), { recursive: true });
      fs.rmSync(localPath, { recursive: true, force: true });
      fs.symlinkSync(target, localPath);
      return { mountPath: m.mountPath, localPath };
    });
  }

  remove(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
