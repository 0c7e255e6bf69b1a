// The Lua `at` module over the in-process emulator.
import { expect } from "chai";
import { captured } from "./support/capture.js";

describe("Lua at module (--at emulator)", () => {
  it("at.send with a callback gives the response lines, ok and the error", async () => {
    const c = captured({ flavor: "nodemcu", at: "emulator", prelude: [`
      at.send("AT+CWMODE?", function(lines, ok, err) print("mode", ok, err, #lines, lines[1]) end)
      at.send("AT+BOGUS", 2000, function(lines, ok, err) print("bogus", ok, err, #lines) end)
    `] });
    await c.rt.run();
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal("mode\ttrue\tnil\t1\t+CWMODE:1\nbogus\tfalse\tERROR\t0\n");
  });

  it("at.send inside a sys task waits and returns the lines, or nil and the error", async () => {
    const c = captured({ flavor: "luatos", at: "emulator", prelude: [`
      sys.taskInit(function()
        local lines = at.send("AT+CWSTATE?")
        print("state", #lines, lines[1])
        local none, err = at.send("AT+NOPE")
        print("bad", none, err)
      end)
    `] });
    await c.rt.run();
    expect(await c.rt.finished).to.equal(0);
    expect(c.stdout()).to.equal('state\t1\t+CWSTATE:0,""\nbad\tnil\tERROR\n');
  });

  it("at.send outside a task without a callback is a Lua error; at is nil without --at", async () => {
    const c = captured({ flavor: "nodemcu", at: "emulator" });
    await c.rt.run();
    expect(() => c.rt.exec('at.send("AT")')).to.throw("(exec):1: at.send: pass a callback function(lines, ok, err), or call it inside a sys task");
    await c.rt.close();
    const d = captured({ flavor: "luatos" });
    await d.rt.run();
    expect(d.rt.exec("return at")).to.deep.equal([null]);
    await d.rt.close();
  });

  it('at.on("urc") hears unsolicited lines, and at.raw writes bytes as they are', async () => {
    const c = captured({ flavor: "nodemcu", at: "emulator", prelude: [`
      at.on("urc", function(line) print("urc", line) end)
      at.send('AT+CWJAP="lab","secret"', function(_, ok) print("joined", ok) end)
    `] });
    // Nothing in the script is pending after the join: keep the run open for the next step.
    const release = c.rt.loop.hold();
    await c.rt.run();
    await c.waitFor("joined\ttrue\n");
    expect(c.stdout()).to.equal("urc\tWIFI CONNECTED\nurc\tWIFI GOT IP\njoined\ttrue\n");
    c.rt.exec('at.raw("AT\\r\\n")');
    await c.waitFor("urc\tOK\n");
    release();
    await c.rt.close();
  });
});
