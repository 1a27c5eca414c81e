// The lab's backend: an HTTP server that answers every request with the pod and node it runs on
// (POD_NAME and NODE_NAME, from the downward API in a pod), so a client can tell which endpoint a
// Service sent it to. Plain Node, no dependencies: the image holds only Debian, node and this file.
import http from 'node:http';
import os from 'node:os';
import process from 'node:process';

const port = Number(process.env.PORT || 8080);
const answer = () => JSON.stringify({ pod: process.env.POD_NAME || os.hostname(), node: process.env.NODE_NAME || '' }) + '\n';
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(answer());
});
server.listen(port, () => process.stdout.write(`backend listening on ${port}\n`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
