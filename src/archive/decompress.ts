/**
 * Compression through the real command-line tools (xz, zstd, gzip), piped.
 * A tool that fails (bad data, truncated input) surfaces as a stream error
 * carrying its stderr, never as a short successful stream.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { Duplex, PassThrough, Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

const gunzipAsync = promisify(gunzip);
import { CommandError } from '../util/errors.ts';
import { missingTool } from './errors.ts';

export type Compression = 'xz' | 'zst' | 'gz' | 'none';

interface Tool {
  command: string;
  /** Debian package that provides the command, for the error hint. */
  pkg: string;
  decompress: string[];
  compress(level?: number): string[];
}

const TOOLS: Record<Exclude<Compression, 'none'>, Tool> = {
  xz: {
    command: 'xz',
    pkg: 'xz-utils',
    decompress: ['-dc', '-T0'],
    compress: (level) => ['-c', '-T0', ...(level === undefined ? [] : [`-${level}`])],
  },
  zst: {
    command: 'zstd',
    pkg: 'zstd',
    decompress: ['-dc', '-q'],
    compress: (level) => ['-c', '-q', '-T0', ...(level === undefined ? [] : level > 19 ? ['--ultra', `-${level}`] : [`-${level}`])],
  },
  gz: {
    command: 'gzip',
    pkg: 'gzip',
    decompress: ['-dc'],
    compress: (level) => ['-c', '-n', ...(level === undefined ? [] : [`-${level}`])],
  },
};

const STDERR_KEEP = 64 * 1024;

/** A Duplex that runs `command args`: what is written goes to its stdin, its stdout is read. */
class ToolStream extends Duplex {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly stderr: Buffer[] = [];
  private stderrBytes = 0;
  private stdinBroken = false;
  private exited = false;
  private pendingWrite: ((err?: Error | null) => void) | undefined;

  constructor(
    private readonly tool: Tool,
    private readonly args: string[],
  ) {
    super({ readableHighWaterMark: 1 << 20 });
    const child = spawn(tool.command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.on('error', (err: NodeJS.ErrnoException) => {
      this.exited = true;
      this.destroy(err.code === 'ENOENT' ? missingTool(tool.command, tool.pkg, err) : err);
    });
    // EPIPE when the tool gives up early: its exit status says what went wrong.
    child.stdin.on('error', () => {
      this.stdinBroken = true;
      this.releaseWrite();
    });
    child.stdin.on('drain', () => this.releaseWrite());
    child.stdin.on('close', () => this.releaseWrite());
    child.stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) child.stdout.pause();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (this.stderrBytes < STDERR_KEEP) {
        this.stderr.push(chunk);
        this.stderrBytes += chunk.length;
      }
    });
    child.on('close', (code, signal) => {
      this.exited = true;
      if (code === 0) {
        this.push(null);
      } else if (!this.destroyed) {
        const tail = Buffer.concat(this.stderr).toString('utf8').split('\n').filter(Boolean).slice(-20);
        const err = new CommandError(`${tool.command} ${args.join(' ')}`, code, signal, tail);
        if (tail.length > 0) err.message += `: ${tail[tail.length - 1]}`;
        this.destroy(err);
      }
    });
  }

  private releaseWrite(): void {
    const cb = this.pendingWrite;
    this.pendingWrite = undefined;
    cb?.();
  }

  override _read(): void {
    this.child.stdout.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.stdinBroken || this.child.stdin.destroyed) return cb();
    if (this.child.stdin.write(chunk)) cb();
    else this.pendingWrite = cb;
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.stdinBroken) this.child.stdin.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.exited) this.child.kill('SIGTERM');
    this.releaseWrite();
    cb(err);
  }
}

/**
 * Decompresses `input` with the matching tool and returns the plain stream.
 * An error of `input` or of the tool destroys the returned stream with that error.
 */
export function decompress(input: Readable | Buffer, kind: Compression): Readable {
  if (kind === 'none') return Buffer.isBuffer(input) ? Readable.from([input], { objectMode: false }) : input;
  const tool = TOOLS[kind];
  const stream = new ToolStream(tool, tool.decompress);
  if (Buffer.isBuffer(input)) {
    stream.end(input);
  } else {
    input.on('error', (err) => stream.destroy(err));
    stream.once('close', () => {
      if (!input.readableEnded) input.destroy();
    });
    input.pipe(stream);
  }
  return stream;
}

/**
 * A Duplex that compresses what is written to it (`xz -T0`, `zstd -T0`,
 * `gzip -n`: no name or time stamp, so the output is reproducible).
 * Use it in `stream.pipeline(source, compress('zst'), file)`.
 */
export function compress(kind: Compression, level?: number): Duplex {
  if (kind === 'none') return new PassThrough();
  const tool = TOOLS[kind];
  return new ToolStream(tool, tool.compress(level));
}

/** The compression a file name implies: `.xz`, `.zst`, `.gz`, else `none`. */
export function compressionFromName(filename: string): Compression {
  if (filename.endsWith('.xz')) return 'xz';
  if (filename.endsWith('.zst')) return 'zst';
  if (filename.endsWith('.gz')) return 'gz';
  return 'none';
}

/** Members up to this size are decompressed in memory, in-process; larger ones stream through the tool. */
const IN_MEMORY_LIMIT = 64 << 20;

type BufferDecoder = (data: Buffer) => Promise<Buffer>;
let xzInProcess: Promise<BufferDecoder | undefined> | undefined;

/**
 * liblzma in-process (@napi-rs/lzma, prebuilt), run on libuv's thread pool:
 * no process per package (spawning costs ~15 ms of the main thread each) and
 * parallel across cores. Undefined where the prebuilt module does not load.
 */
function loadXz(): Promise<BufferDecoder | undefined> {
  xzInProcess ??= import('@napi-rs/lzma').then(
    (m) => (data: Buffer) => m.xz.decompress(data),
    () => undefined,
  );
  return xzInProcess;
}

/**
 * Decompresses a whole member held in memory (the parts of a package) and
 * returns its bytes or, for a large member, a stream from the tool.
 */
export async function decompressMember(data: Buffer, kind: Compression): Promise<Buffer | Readable> {
  if (kind === 'none') return data;
  if (data.length <= IN_MEMORY_LIMIT) {
    if (kind === 'gz') return gunzipAsync(data);
    if (kind === 'xz') {
      const xz = await loadXz();
      if (xz) return xz(data);
    }
  }
  return decompress(data, kind);
}
