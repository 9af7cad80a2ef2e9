// Opening the authorization URL in a browser, only where one can be opened: macOS and Windows
// always, Linux and the BSDs with a graphical session (DISPLAY or WAYLAND_DISPLAY); never over a bare
// SSH session or in a container. Hand-written rather than the `open` package: that one finds its own
// bundled xdg-open next to its module file, which our single-file bundle does not keep.
import { spawn } from 'node:child_process';

export function canOpenBrowser(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): boolean {
  if (platform === 'darwin' || platform === 'win32') return true;
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

/** Starts the platform's opener detached; a failure only means the user opens the URL by hand. */
export function openBrowser(url: string, platform: NodeJS.Platform = process.platform): void {
  // rundll32 takes the URL as one argument (cmd's `start` would split it at every &).
  const [command, args] = platform === 'darwin' ? ['open', [url]] : platform === 'win32' ? ['rundll32', ['url.dll,FileProtocolHandler', url]] : ['xdg-open', [url]];
  try {
    const child = spawn(command, args as string[], { detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    /* the URL is printed anyway */
  }
}
