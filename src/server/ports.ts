// Checks that the configured ports can be listened on before anything else starts, so a second engine on a busy port
// stops at once with one line naming the port and its variable, instead of after opening the database and Redis (and,
// embedded, a database directory that is another engine's).
import net from 'node:net';

export interface PortSetting {
  /** The environment variable that sets it, named in the error. */
  variable: string;
  port: number;
}

/** The two configured ports with their variables (port 0: any free port, never checked). */
export function configuredPorts(config: { grpcPort: number; httpPort: number }): PortSetting[] {
  return [
    { variable: 'GRPC_PORT', port: config.grpcPort },
    { variable: 'HTTP_PORT', port: config.httpPort },
  ];
}

/** A configured port that cannot be listened on; the message says which, why, and what to change. */
export class PortUnavailableError extends Error {
  constructor(
    message: string,
    readonly variable: string,
    readonly port: number,
  ) {
    super(message);
    this.name = 'PortUnavailableError';
  }
}

/** What went wrong and what to change, by the error code of the failed listen. */
function advice(code: string | undefined, host: string, s: PortSetting): string | undefined {
  switch (code) {
    case 'EADDRINUSE':
      return `the port is already in use (is another Tollbooth running?); stop what listens there or set ${s.variable} to a free port`;
    case 'EACCES':
      return `permission denied (ports below 1024 need privileges); set ${s.variable} to a higher port`;
    case 'EADDRNOTAVAIL':
      return `${host} is not an address of this machine; set HOST`;
    default:
      return undefined;
  }
}

/** Binds each port on `host` (exclusively), closes it again, and rejects on the first one that fails. Port 0 is skipped. */
export async function checkPortsAvailable(host: string, settings: PortSetting[]): Promise<void> {
  const fixed = settings.filter((s) => s.port !== 0);
  for (const [i, a] of fixed.entries()) {
    const b = fixed.slice(i + 1).find((s) => s.port === a.port);
    if (b) {
      const message = `${a.variable} and ${b.variable} are both ${a.port}; each server needs a port of its own`;
      throw new PortUnavailableError(message, b.variable, b.port);
    }
  }
  for (const s of fixed) {
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      const probe = net.createServer();
      probe.once('error', (err: NodeJS.ErrnoException) => resolve(err));
      probe.listen({ host, port: s.port, exclusive: true }, () => probe.close(() => resolve(undefined)));
    });
    if (error) {
      const why = advice(error.code, host, s) ?? error.message;
      throw new PortUnavailableError(`cannot listen on ${host}:${s.port} (${s.variable}): ${why}`, s.variable, s.port);
    }
  }
}
