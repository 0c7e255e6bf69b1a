-- xmodem: sends a file over a UART with the XMODEM protocol (128-byte blocks, or 1 KiB
-- blocks as in XMODEM-1K). Written for moonrig from the library's documented behaviour
-- and the protocol.
--
-- xmodem.send(uart_id, baudrate, file_path, small_blocks, inform_data) -> true when every
-- block was acknowledged (EOT then follows), false otherwise. Call it from a sys task: it
-- waits for the receiver. It opens the UART, writes inform_data (a prompt telling the
-- person at the other end to start the receiver, if given), and waits up to 12 s for the
-- receiver's start byte: "C" asks for CRC-16 blocks, NAK for the original 8-bit checksum.
-- Each block is SOH (128 bytes, small_blocks true) or STX (1024 bytes), the block number
-- and its complement, the data padded with 0x1A, then the CRC (big-endian) or checksum. An
-- ACK sends the next block, a NAK the same one again (up to 10 times); anything else, or
-- 10 s of silence, ends the transfer with EOT and false.
-- xmodem.close(uart_id) drops the receive callback and closes the UART.

local sys = require("sys")

local xmodem = {}

local SOH, STX, EOT, ACK, NAK = 0x01, 0x02, 0x04, 0x06, 0x15
local PAD = "\x1A"
local CRC_START = 0x43 -- "C"
local TOPIC = "xmodem"
local START_TIMEOUT = 12000
local ANSWER_TIMEOUT = 10000
local MAX_RETRIES = 10

-- The receiver answers one byte at a time; the first byte of what arrived is its answer.
local function onReceive(id)
  local data = uart.read(id, 1024)
  if #data == 0 then return end
  sys.publish(TOPIC, data:byte(1))
end

local function checksum(data)
  local sum = 0
  for i = 1, #data do sum = sum + data:byte(i) end
  return string.char(sum & 0xff)
end

local function crc(data)
  local value = crypto.crc16("XMODEM", data)
  return string.char((value >> 8) & 0xff, value & 0xff)
end

local function block(head, number, data, useCrc)
  local n = number & 0xff
  return string.char(head, n, 0xff - n) .. data .. (useCrc and crc(data) or checksum(data))
end

-- Sends one block until the receiver takes it: true on ACK.
local function deliver(uart_id, packet)
  for _ = 0, MAX_RETRIES do
    uart.write(uart_id, packet)
    local got, answer = sys.waitUntil(TOPIC, ANSWER_TIMEOUT)
    if got and answer == ACK then return true end
    if not (got and answer == NAK) then return false end
  end
  return false
end

function xmodem.send(uart_id, baudrate, file_path, small_blocks, inform_data)
  local head, size = STX, 1024
  if small_blocks then head, size = SOH, 128 end
  local file = io.open(file_path, "rb")
  if not file then
    log.info("xmodem", "no such file", file_path)
    return false
  end
  uart.setup(uart_id, baudrate)
  uart.on(uart_id, "receive", onReceive)
  if inform_data and inform_data ~= "" then uart.write(uart_id, inform_data) end
  local got, start = sys.waitUntil(TOPIC, START_TIMEOUT)
  if not (got and (start == CRC_START or start == NAK)) then
    log.info("xmodem", "the receiver did not start", start)
    file:close()
    return false
  end
  local useCrc = start == CRC_START
  local number = 0
  while true do
    local data = file:read(size)
    if not data or #data == 0 then break end
    number = number + 1
    log.info("xmodem", "block", number)
    if not deliver(uart_id, block(head, number, data .. PAD:rep(size - #data), useCrc)) then
      uart.write(uart_id, string.char(EOT))
      log.info("xmodem", "the receiver refused block", number)
      file:close()
      return false
    end
    if #data < size then break end
  end
  uart.write(uart_id, string.char(EOT))
  file:close()
  return true
end

function xmodem.close(uart_id)
  uart.on(uart_id, "receive")
  uart.close(uart_id)
end

function xmodem.version()
  return "202607021200"
end

log.debug("xmodem", "version -> " .. xmodem.version())

return xmodem
