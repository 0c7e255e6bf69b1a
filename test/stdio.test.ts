// The CLI's output: straight to the descriptor where node would write synchronously anyway,
// through node's stream otherwise, and never out of order when it has to switch.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { outputTo, type Descriptor } from "../runtime/stdio.js";
import { CLI } from "./support/cli.js";
import { tempDir } from "./support/temp.js";

/** A descriptor that takes at most `chunk` bytes a call and fails with `failAfter` bytes taken. */
function fakeDescriptor(synchronous: boolean, chunk: number, failAfter = Infinity, code = "EAGAIN"): Descriptor & { direct: number[]; streamed: string[]; gone: number } {
  const direct: number[] = [];
  const streamed: string[] = [];
  return {
    direct,
    streamed,
    gone: 0,
    readerGone() {
      this.gone++;
    },
    synchronous: () => synchronous,
    writeSync(bytes, offset) {
      if (direct.length >= failAfter) throw Object.assign(new Error(`${code}: resource temporarily unavailable, write`), { code });
      const n = Math.min(chunk, bytes.length - offset, failAfter - direct.length);
      direct.push(...bytes.subarray(offset, offset + n));
      return n;
    },
    stream: () => ({ write: (data: Uint8Array | string) => streamed.push(Buffer.from(data).toString("latin1")) }),
  };
}

describe("standard output and error", () => {
  it("writes every byte straight to a synchronous descriptor, however little it takes at a time", () => {
    const fd = fakeDescriptor(true, 3);
    const out = outputTo(fd);
    out(new Uint8Array([0, 1, 2, 255, 254, 10, 13]));
    out("text\n");
    expect(Buffer.from(fd.direct).toString("latin1")).to.equal("\x00\x01\x02\xff\xfe\n\rtext\n");
    expect(fd.streamed).to.deep.equal([]);
  });

  it("hands the rest to the stream on EAGAIN, and everything after it too, in order", () => {
    const fd = fakeDescriptor(true, 4, 6);
    const out = outputTo(fd);
    out("abcdefghij");
    out("klm");
    expect(Buffer.from(fd.direct).toString("latin1")).to.equal("abcdef");
    expect(fd.streamed).to.deep.equal(["ghij", "klm"]);
  });

  it("tells the owner when the reader has gone (EPIPE), and streams nothing", () => {
    const fd = fakeDescriptor(true, 10, 2, "EPIPE");
    outputTo(fd)("xyz");
    expect(Buffer.from(fd.direct).toString("latin1")).to.equal("xy");
    expect(fd.streamed).to.deep.equal([]);
    expect(fd.gone).to.equal(1);
  });

  it("leaves any other write error to the stream, which reports it as node always has", () => {
    const fd = fakeDescriptor(true, 10, 2, "EIO");
    const out = outputTo(fd);
    out("xyz");
    expect(Buffer.from(fd.direct).toString("latin1")).to.equal("xy");
    expect(fd.streamed).to.deep.equal(["z"]);
    expect(fd.gone).to.equal(0);
  });

  it("uses the stream alone for a terminal", () => {
    const fd = fakeDescriptor(false, 10);
    outputTo(fd)("prompt> ");
    expect(fd.direct).to.deep.equal([]);
    expect(fd.streamed).to.deep.equal(["prompt> "]);
  });

  /** Runs the CLI with stdout and stderr going to files (or /dev/null); returns their bytes. */
  async function runToFiles(args: string[], stdoutPath?: string): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
    const dir = tempDir("stdio");
    const outPath = stdoutPath ?? join(dir, "out");
    const errPath = join(dir, "err");
    const out = openSync(outPath, "w");
    const err = openSync(errPath, "w");
    try {
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", out, err] });
        child.on("error", reject);
        child.on("close", resolve);
      });
      return { code, stdout: stdoutPath ? Buffer.alloc(0) : readFileSync(outPath), stderr: readFileSync(errPath, "latin1") };
    } finally {
      closeSync(out);
      closeSync(err);
    }
  }

  it("writes a script's bytes to a file exactly, a megabyte and every byte value included", async () => {
    const r = await runToFiles(["-e", `local t = {} for i = 0, 255 do t[#t + 1] = string.char(i) end
      io.write(table.concat(t)) print(string.rep("0123456789abcdef", 65536):len()) io.write(string.rep("z", 1048576))
      error("stop here")`]);
    expect(r.code).to.equal(1);
    const expected = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from("1048576\n"), Buffer.alloc(1048576, "z")]);
    expect(r.stdout.equals(expected)).to.equal(true);
    expect(r.stderr).to.match(/^moonrig: \(command line\):3: stop here\nstack traceback:\n/);
  });

  it("writes to /dev/null and still reports errors on stderr", async () => {
    const r = await runToFiles(["-e", `print("gone") error("after print")`], "/dev/null");
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/^moonrig: \(command line\):1: after print\n/);
  });

  it("writes through a shell pipe to a slow reader without losing or reordering bytes", async () => {
    const script = `for i = 1, 2000 do print(string.format("%05d", i) .. string.rep(".", 200)) end`;
    const output = await new Promise<string>((resolve, reject) => {
      // The reader sleeps first, so the pipe fills and the writer must wait.
      const child = spawn("sh", ["-c", `"$0" "$1" -e "$2" | (sleep 0.3; cat)`, process.execPath, CLI, script], { stdio: ["ignore", "pipe", "inherit"] });
      const chunks: Buffer[] = [];
      child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
      child.on("error", reject);
      child.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
    });
    const lines = output.split("\n");
    expect(lines).to.have.length(2001);
    expect(lines[0]).to.equal(`00001${".".repeat(200)}`);
    expect(lines[1999]).to.equal(`02000${".".repeat(200)}`);
    expect(lines.every((line, i) => i === 2000 ? line === "" : line.startsWith(String(i + 1).padStart(5, "0")))).to.equal(true);
  });

  // A device's console has no reader to lose; on a PC, `moonrig script.lua | head` should
  // end when head does, quietly, and not fail a pipeline.
  it("ends quietly with status 0 when the reader of its output goes away", async () => {
    const script = `for i = 1, 1000000 do print(i) end error("not reached")`;
    const result = await new Promise<string>((resolve, reject) => {
      const child = spawn("bash", ["-c", `set -o pipefail; "$0" "$1" -e "$2" 2>"$3" | head -2; echo "status $? stderr [$(cat "$3")]"`, process.execPath, CLI, script, join(tempDir("stdio"), "err")], { stdio: ["ignore", "pipe", "inherit"] });
      const chunks: Buffer[] = [];
      child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
      child.on("error", reject);
      child.on("close", () => resolve(Buffer.concat(chunks).toString()));
    });
    expect(result).to.equal("1\n2\nstatus 0 stderr []\n");
  });
});
