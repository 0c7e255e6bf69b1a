// --trace lines: one per MQTT packet, with the fields a firmware developer looks for.
import type { Packet } from "mqtt";

function quoted(value: string | Buffer | undefined): string {
  if (value === undefined) return '""';
  return JSON.stringify(typeof value === "string" ? value : value.toString("latin1"));
}

export function formatPacket(packet: Packet): string {
  switch (packet.cmd) {
    case "connect":
      return `CONNECT client_id=${quoted(packet.clientId)} keepalive=${packet.keepalive ?? 0} clean=${packet.clean ? 1 : 0}` +
        (packet.username !== undefined ? ` username=${quoted(packet.username)}` : "") +
        (packet.password !== undefined ? " password=***" : "") +
        (packet.will ? ` will_topic=${quoted(packet.will.topic)} will_qos=${packet.will.qos} will_retain=${packet.will.retain ? 1 : 0}` : "");
    case "connack":
      return `CONNACK session_present=${packet.sessionPresent ? 1 : 0} rc=${packet.returnCode ?? packet.reasonCode ?? 0}`;
    case "publish": {
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      return `PUBLISH topic=${quoted(packet.topic)} qos=${packet.qos} retain=${packet.retain ? 1 : 0} dup=${packet.dup ? 1 : 0}` +
        (packet.qos > 0 ? ` id=${packet.messageId}` : "") + ` len=${payload.length}`;
    }
    case "puback":
    case "pubrec":
    case "pubrel":
    case "pubcomp":
    case "unsuback":
      return `${packet.cmd.toUpperCase()} id=${packet.messageId}`;
    case "subscribe":
      return `SUBSCRIBE id=${packet.messageId} ${packet.subscriptions.map((s) => `${quoted(s.topic)}:${s.qos}`).join(" ")}`;
    case "suback":
      return `SUBACK id=${packet.messageId} granted=${packet.granted.map((g) => (typeof g === "number" ? g : (g as { qos: number }).qos)).join(",")}`;
    case "unsubscribe":
      return `UNSUBSCRIBE id=${packet.messageId} ${packet.unsubscriptions.map((t) => quoted(t)).join(" ")}`;
    default:
      return packet.cmd.toUpperCase();
  }
}

/** A packet written as raw bytes (see MqttSession.sendRaw): its type and every byte. */
export function formatRaw(packet: Uint8Array): string {
  const names = ["RESERVED", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"];
  return `${names[(packet[0] ?? 0) >> 4]} (as the firmware built it) bytes=${Buffer.from(packet.buffer, packet.byteOffset, packet.length).toString("hex")}`;
}
