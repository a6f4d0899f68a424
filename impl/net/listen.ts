// Bind a TCP port: resolves once listening, rejects if the bind fails (port in use), and from then on hands
// later server errors to `onError` so that they are logged instead of crashing the process.
import { createServer, type Server, type Socket } from 'node:net';

export function listenTcp(host: string, port: number, accept: (sock: Socket) => void, onError?: (e: Error) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(accept);
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      if (onError) server.on('error', onError);
      resolve(server);
    });
  });
}
