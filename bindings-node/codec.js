// Event arguments between JavaScript and the engine: socket.io's JSON text in which each
// binary value (Buffer, ArrayBuffer, typed array) is a {"_placeholder":true,"num":n} object,
// plus the binary attachments. Shared by the server (index.js) and the client (client.js).
"use strict";

/** An empty attachment list, shared by every payload without binary. */
const NO_ATTACHMENTS = Object.freeze([]);

/** Whether `value` holds a Buffer, ArrayBuffer or typed array anywhere (socket.io's hasBinary). */
function hasBinary(value, depth = 0) {
  if (!value || typeof value !== "object" || depth > 1000) return false;
  if (Buffer.isBuffer(value) || value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (hasBinary(value[i], depth + 1)) return true;
    return false;
  }
  if (typeof value.toJSON === "function") return hasBinary(value.toJSON(), depth + 1);
  for (const key in value) {
    if (Object.prototype.hasOwnProperty.call(value, key) && hasBinary(value[key], depth + 1)) return true;
  }
  return false;
}

/** Splits `args` into JSON with socket.io placeholders and the binary attachments. */
function encode(args) {
  // Most payloads hold no binary: JSON.stringify alone gives the same text.
  if (!hasBinary(args)) return { json: JSON.stringify(args), attachments: NO_ATTACHMENTS };
  const attachments = [];
  const walk = (value) => {
    if (Buffer.isBuffer(value)) {
      attachments.push(value);
      return { _placeholder: true, num: attachments.length - 1 };
    }
    if (value instanceof ArrayBuffer) return walk(Buffer.from(value));
    if (ArrayBuffer.isView(value)) return walk(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === "object") {
      if (typeof value.toJSON === "function") return walk(value.toJSON());
      const out = {};
      for (const [key, item] of Object.entries(value)) {
        if (item !== undefined && typeof item !== "function") out[key] = walk(item);
      }
      return out;
    }
    return value;
  };
  return { json: JSON.stringify(args.map(walk)), attachments };
}

/** The arguments of an encoded payload, placeholders replaced by their Buffers. */
function decode({ json, attachments }) {
  const values = JSON.parse(json);
  return attachments.length === 0 ? values : restore(values, attachments);
}

/** `value` (parsed JSON) with every placeholder replaced by its Buffer in `attachments`. */
function restore(value, attachments) {
  if (Array.isArray(value)) return value.map((item) => restore(item, attachments));
  if (value && typeof value === "object") {
    if (value._placeholder === true && typeof value.num === "number") return attachments[value.num];
    for (const key of Object.keys(value)) value[key] = restore(value[key], attachments);
  }
  return value;
}

module.exports = { encode, decode, restore };
