// A Postgres server of a test's own (initdb + pg_ctl as the postgres user, on a free port), for tests that stop and
// start the database. The shared server on 5432 is never touched.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, chown } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../process/spawn.js';

const run = promisify(execFile);

async function pgBin(): Promise<string> {
  const versions = (await readdir('/usr/lib/postgresql')).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error('no Postgres server binaries under /usr/lib/postgresql (Debian package "postgresql")');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

export class PrivatePostgres {
  private constructor(
    readonly port: number,
    private readonly root: string,
    private readonly bin: string,
  ) {}

  /** initdb a new cluster (trust auth, fsync off: a test's data need not survive the machine, only the process). */
  static async create(): Promise<PrivatePostgres> {
    const bin = await pgBin();
    const root = await mkdtemp(path.join(tmpdir(), 'tb-pg-'));
    const { uid, gid } = await postgresIds();
    await chown(root, uid, gid);
    const pg = new PrivatePostgres(await freePort(), root, bin);
    await pg.asPostgres('initdb', ['-D', pg.dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    return pg;
  }

  get dataDir(): string {
    return path.join(this.root, 'data');
  }

  /** A URL of the `postgres` database, for creating test databases on this server. */
  get adminUrl(): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/postgres`;
  }

  async start(): Promise<void> {
    const opts = `-p ${this.port} -k ${this.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
    await this.asPostgres('pg_ctl', ['-D', this.dataDir, '-o', opts, '-l', path.join(this.root, 'log'), '-w', '-t', '60', 'start']);
  }

  /** `fast`: sessions are terminated (57P01) and new ones refused while it shuts down; `immediate`: a crash, no checkpoint. */
  async stop(mode: 'fast' | 'immediate'): Promise<void> {
    await this.asPostgres('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '60', 'stop']);
  }

  /** Stop (if running) and delete the cluster. */
  async destroy(): Promise<void> {
    await this.asPostgres('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    await rm(this.root, { recursive: true, force: true });
  }

  private async asPostgres(tool: string, args: string[]): Promise<void> {
    await run('runuser', ['-u', 'postgres', '--', path.join(this.bin, tool), ...args], { cwd: this.root });
  }
}
