import net from 'node:net';
import { SophonError } from '../platform/errors.js';

/** Fails with a clear message when something already listens on the port. */
export async function assertPortFree(host: string, port: number, what: string, variable: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') {
        reject(
          new SophonError(
            'PORT_IN_USE',
            `Port ${port} on ${host} (${what}) is already in use; stop what uses it or set ${variable} to another port`,
          ),
        );
      } else reject(err);
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}
