// The "verified" badge of an event page.
//
// It fetches the event's inclusion proof (GET /api/audit-logs/{id}/proof, or
// the section's data-proof-url: the embedded viewer's /embed/proof/{id})
// and the service's verifier key (GET /api/verifier-key), and checks them
// here, with WebCrypto, as docs/verification.md specifies:
//
//   0. the fields on the page hash to the event's leaf hash: the commitment
//      is HMAC-SHA-256 of the personal fields keyed by the event's salt, and
//      the leaf hash SHA-256 of 0x00 and the leaf's encoding (§1–2);
//   1. the proof is about that leaf (its log index and leaf hash);
//   2. the verifier key is well formed: its key hash is the first 4 bytes of
//      SHA-256(name || "\n" || 0x01 || public key);
//   3. the checkpoint, a C2SP signed note, carries an Ed25519 signature by
//      that key over its text;
//   4. the checkpoint names this account's log (its origin);
//   5. the checkpoint's size and root are those the proof is against;
//   6. the inclusion proof recomputes the checkpoint's root from the leaf
//      hash (RFC 6962 node hashes, verified as RFC 9162 §2.1.3.2 says).
//
// Each step shows what it checked. The page works without this script: the
// badge then says that nothing was checked.
'use strict';

const AuditlogVerify = (() => {
  const enc = new TextEncoder();

  // CheckFailed is a check that did not hold: evidence, not an outage.
  class CheckFailed extends Error {}

  function fromB64(s) {
    if (typeof s !== 'string') throw new CheckFailed('a hash is missing');
    let bin;
    try { bin = atob(s); } catch (e) { throw new CheckFailed('a value is not base64'); }
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function toB64(b) { return btoa(String.fromCharCode(...b)); }
  function toHex(b) { return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(''); }
  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let i = 0;
    for (const p of parts) { out.set(p, i); i += p.length; }
    return out;
  }
  function equal(a, b) { return a.length === b.length && a.every((x, i) => x === b[i]); }
  async function sha256(b) { return new Uint8Array(await crypto.subtle.digest('SHA-256', b)); }
  function nodeHash(l, r) { return sha256(concat(Uint8Array.of(1), l, r)); }

  function u64(n) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(n)));
    return b;
  }
  // str encodes text, given as a string or as its UTF-8 bytes.
  function str(s) {
    const e = typeof s === 'string' ? enc.encode(s) : s;
    const b = new Uint8Array(4 + e.length);
    new DataView(b.buffer).setUint32(0, e.length);
    b.set(e, 4);
    return b;
  }

  // commit returns the commitment to an event's personal fields (§2).
  async function commit(d, salt) {
    const key = await crypto.subtle.importKey('raw', salt, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const personal = concat(Uint8Array.of(1), str(d.actorId), str(d.actorEmail), str(d.actorName), str(d.ipAddress),
      str(d.userAgent), str(d.details), str(d.metadata), str(d.changes));
    return new Uint8Array(await crypto.subtle.sign('HMAC', key, personal));
  }

  // leafHash returns the hash of an event's leaf (§1, §3) in encoding
  // version 2 (the default) or 1: d holds its numbers as decimal strings
  // (times in Unix microseconds, occurredAt "" when not given) and its text
  // as strings or bytes.
  async function leafHash(d, commitment, version = 2) {
    const given = d.occurredAt !== '' && d.occurredAt !== undefined;
    const occurred = u64(given ? d.occurredAt : '0');
    const head = version === 1
      ? concat(Uint8Array.of(1), u64(d.accountId), u64(d.seq), u64(d.createdAt), occurred)
      : concat(Uint8Array.of(2), u64(d.accountId), u64(d.seq), u64(d.createdAt), Uint8Array.of(given ? 1 : 0), occurred);
    const leaf = concat(head, u64(d.userId),
      str(d.actorType), str(d.eventId), str(d.action), str(d.resourceType), str(d.resourceId), str(d.outcome), commitment);
    return sha256(concat(Uint8Array.of(0), leaf));
  }

  // rootFromInclusion returns the root that the inclusion proof (a list of
  // 32-byte hashes) gives for the leaf hash at index in a tree of size.
  async function rootFromInclusion(index, size, leaf, path) {
    if (!(index >= 0 && index < size)) throw new CheckFailed('the leaf index is outside the tree');
    let fn = index, sn = size - 1, r = leaf;
    for (const p of path) {
      if (p.length !== 32) throw new CheckFailed('a proof hash is not 32 bytes');
      if (sn === 0) throw new CheckFailed('the proof is longer than the tree is deep');
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(p, r);
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else {
        r = await nodeHash(r, p);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    if (sn !== 0) throw new CheckFailed('the proof is shorter than the tree is deep');
    return r;
  }

  // parseVerifierKey reads "<name>+<key hash, 8 hex>+<base64(0x01 || key)>"
  // and checks its key hash.
  async function parseVerifierKey(vkey) {
    const i = vkey.indexOf('+');
    const j = vkey.indexOf('+', i + 1);
    if (i < 1 || j < 0) throw new CheckFailed('the verifier key is not name+hash+key');
    const name = vkey.slice(0, i), hash = vkey.slice(i + 1, j), key = fromB64(vkey.slice(j + 1));
    if (!/^[0-9a-f]{8}$/.test(hash) || key.length !== 33 || key[0] !== 1) throw new CheckFailed('the verifier key is not an Ed25519 key');
    const id = (await sha256(concat(enc.encode(name + '\n'), key))).slice(0, 4);
    if (toHex(id) !== hash) throw new CheckFailed("the verifier key's hash does not match its name and key");
    return { name, id, pub: key.slice(1) };
  }

  // openNote checks a signed note's signature by key and returns the
  // checkpoint it holds: origin, size and root.
  async function openNote(note, key) {
    const sep = note.indexOf('\n\n');
    if (sep < 0) throw new CheckFailed('the checkpoint is not a signed note');
    const text = note.slice(0, sep + 1);
    let pub;
    try {
      pub = await crypto.subtle.importKey('raw', key.pub, { name: 'Ed25519' }, false, ['verify']);
    } catch (e) {
      throw new Error('this browser cannot check Ed25519 signatures');
    }
    let signed = false;
    for (const line of note.slice(sep + 2).split('\n')) {
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m || m[1] !== key.name) continue;
      const sig = fromB64(m[2]);
      if (sig.length !== 68 || !equal(sig.slice(0, 4), key.id)) continue;
      if (!(await crypto.subtle.verify({ name: 'Ed25519' }, pub, sig.slice(4), enc.encode(text)))) {
        throw new CheckFailed('the checkpoint signature does not verify under the key');
      }
      signed = true;
    }
    if (!signed) throw new CheckFailed('the checkpoint carries no signature by the key');
    const lines = text.split('\n');
    if (lines.length !== 4 || !/^(0|[1-9][0-9]*)$/.test(lines[1])) throw new CheckFailed('the checkpoint is not origin, size and root');
    const root = fromB64(lines[2]);
    if (root.length !== 32) throw new CheckFailed("the checkpoint's root is not 32 bytes");
    return { origin: lines[0], size: Number(lines[1]), root };
  }

  // check runs every step for the event of section, reporting each to step.
  async function check(section, step) {
    const id = section.dataset.eventId;
    const seq = Number(section.dataset.seq);
    const leaf = fromB64(section.dataset.leafHash);
    const data = section.querySelector('#leaf').dataset;
    const fields = {};
    for (const [k, v] of Object.entries(data)) {
      fields[k] = ['accountId', 'seq', 'createdAt', 'occurredAt', 'userId', 'salt', 'commitment'].includes(k) ? v : fromB64(v);
    }
    let commitment = fromB64(fields.commitment);
    if (fields.salt) {
      const c = await commit(fields, fromB64(fields.salt));
      if (!equal(c, commitment)) throw new CheckFailed('the personal fields on this page do not match the event’s commitment');
      commitment = c;
    }
    if (!equal(await leafHash(fields, commitment, 2), leaf)) {
      // An event recorded before leaf version 2 has a version 1 leaf.
      if (!equal(await leafHash(fields, commitment, 1), leaf)) throw new CheckFailed('the fields on this page do not hash to the event’s leaf');
      if (fields.occurredAt === '0') throw new CheckFailed('the event shows the Unix epoch as its time, which a version 1 leaf cannot tell from no time: it was altered');
    }
    step(fields.salt ? 'The fields on this page hash to the event’s leaf (SHA-256; personal fields by their HMAC-SHA-256 commitment).'
      : 'The fields on this page hash to the event’s leaf; its personal data was erased, so it counts by its commitment alone.');

    const get = async (url) => {
      const res = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (!res.ok) {
        let msg = 'HTTP ' + res.status;
        try { msg = (await res.json()).error || msg; } catch (e) { /* not JSON */ }
        throw new Error(url + ': ' + msg);
      }
      return res.json();
    };
    const [proof, vk] = await Promise.all([get(section.dataset.proofUrl || '/api/audit-logs/' + encodeURIComponent(id) + '/proof'), get('/api/verifier-key')]);

    const proofLeaf = fromB64(proof.leaf_hash);
    if (String(proof.event_id) !== id || proof.seq !== seq || proof.leaf_index !== seq - 1 || !equal(proofLeaf, leaf)) {
      throw new CheckFailed('the proof is about another leaf than this event’s');
    }
    step('The proof is about this event: log index ' + seq + ', leaf hash ' + toHex(leaf).slice(0, 16) + '…');

    const key = await parseVerifierKey(vk.verifier_key);
    step('The verifier key ' + key.name + '+' + toHex(key.id) + ' is well formed (its key hash matches). Compare it with the one you keep.');

    const cp = await openNote(proof.checkpoint.checkpoint, key);
    step('The checkpoint’s Ed25519 signature verifies under that key.');

    if (cp.origin !== section.dataset.origin) throw new CheckFailed('the checkpoint is of another log: ' + cp.origin);
    step('The checkpoint is of this account’s log: ' + cp.origin + '.');

    if (cp.size !== proof.tree_size || !equal(cp.root, fromB64(proof.root_hash))) {
      throw new CheckFailed('the proof is against another tree than the signed checkpoint');
    }
    step('The signed checkpoint covers ' + cp.size + ' events, root ' + toB64(cp.root).slice(0, 16) + '…');

    const path = (proof.proof || []).map(fromB64);
    const root = await rootFromInclusion(seq - 1, cp.size, leaf, path);
    if (!equal(root, cp.root)) throw new CheckFailed('the inclusion proof does not lead to the signed root');
    step('The inclusion proof (' + path.length + ' hashes, SHA-256) leads from the leaf hash to the signed root.');
  }

  // run checks the page's event and shows the outcome on its badge.
  async function run(section) {
    const status = section.querySelector('#verify-status');
    const list = section.querySelector('#verify-steps');
    const again = section.querySelector('#verify-again');
    const show = (cls, text) => { status.className = 'badge ' + cls; status.textContent = text; };
    list.replaceChildren();
    again.hidden = true;
    show('pending', 'Checking…');
    const step = (text) => {
      const li = document.createElement('li');
      li.className = 'ok';
      li.textContent = text;
      list.append(li);
    };
    try {
      await check(section, step);
      show('verified', '✓ Verified: this event is in the account’s signed log, as shown.');
    } catch (e) {
      const li = document.createElement('li');
      li.className = 'bad';
      li.textContent = e.message;
      list.append(li);
      if (e instanceof CheckFailed) {
        show('failed', '✗ Not verified: ' + e.message + '.');
      } else {
        show('unknown', 'Could not check: ' + e.message + '.');
      }
    }
    again.hidden = false;
  }

  document.addEventListener('DOMContentLoaded', () => {
    const section = document.getElementById('verify');
    if (!section) return;
    section.querySelector('#verify-again').addEventListener('click', () => run(section));
    run(section);
  });

  return { rootFromInclusion, parseVerifierKey, openNote, commit, leafHash, fromB64, toHex };
})();
window.AuditlogVerify = AuditlogVerify;
