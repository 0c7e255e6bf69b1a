// The REPL's Tab completion over a live Lua state: globals (opened modules or not), a
// table's fields after `.`, an object's methods after `:`, what the script added itself.
import { expect } from "chai";
import { complete } from "../runtime/repl-complete.js";
import { started } from "./support/capture.js";
import { tempDir } from "./support/temp.js";

describe("REPL completion", () => {
  it("completes globals, module fields, methods and the script's own tables, NodeMCU", async () => {
    const c = await started({
      flavor: "nodemcu",
      cwd: tempDir("complete"),
      prelude: ['m = mqtt.Client("c", 10)', 'word = "x"', "box = { alpha = 1, alps = 2, beta = 3, [1] = 4, ['not a name'] = 5 }"],
    });
    const board = c.rt.currentBoard;
    if (!board) throw new Error("no board");
    expect(complete(board, "mqtt.Cl")).to.deep.equal([["mqtt.Client"], "mqtt.Cl"]);
    expect(complete(board, "x = tm")).to.deep.equal([["tmr"], "tm"]);
    expect(complete(board, "m:pub")).to.deep.equal([["m:publish"], "m:pub"]);
    expect(complete(board, "print(box.al")).to.deep.equal([["box.alpha", "box.alps"], "box.al"]);
    expect(complete(board, "box.")[0]).to.deep.equal(["box.alpha", "box.alps", "box.beta"]);
    expect(complete(board, "wifi.sta.getip")).to.deep.equal([["wifi.sta.getip"], "wifi.sta.getip"]);
    expect(complete(board, '("x"):up')).to.deep.equal([[], "up"]);
    expect(complete(board, "word:up")).to.deep.equal([["word:upper"], "word:up"]);
    expect(complete(board, "nothing.here.")).to.deep.equal([[], "nothing.here."]);
    // A module is offered before the script opened it, and nothing is left on the stack.
    expect(complete(board, "sjs")[0]).to.deep.equal(["sjson"]);
    expect(c.rt.exec("return select('#', 1)")).to.deep.equal([1]);
    await c.rt.close();
  });

  it("offers what the board has: LuatOS on an Air780E has no Wi-Fi station", async () => {
    const c = await started({ flavor: "luatos", cwd: tempDir("complete"), device: { model: "Air780E" } });
    const board = c.rt.currentBoard;
    if (!board) throw new Error("no board");
    expect(complete(board, "mobile.ims")[0]).to.deep.equal(["mobile.imsi"]);
    expect(complete(board, "wlan.con")[0]).to.deep.equal([]);
    expect(complete(board, "sys.wait")[0]).to.deep.equal(["sys.wait", "sys.waitMsg", "sys.waitUntil", "sys.waitUntilExt", "sys.waitUntilMsg"]);
    await c.rt.close();
  });
});
