// A JSON-lines RPC peer that answers with the real @fioprotocol/fiojs and
// @fioprotocol/fiosdk packages, for fio-peer's live cross-implementation
// tests (tests/interop/main.rs). One request per line on stdin:
//   {"id": 1, "op": "sign", "args": {...}}
// one answer per line on stdout:
//   {"id": 1, "ok": true, "result": ...}  or  {"id": 1, "ok": false, "error": "..."}
'use strict';
// stdout carries the JSON-lines protocol only. fiojs logs to the console
// (e.g. "WARN: 10 attempts to find canonical signature" from signHash), so
// every console method goes to stderr.
for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
  console[level] = (...args) => process.stderr.write(args.join(' ') + '\n');
}
const path = require('path');
const readline = require('readline');

const { Ecc, Fio } = require('@fioprotocol/fiojs');
// fiosdk's own derivation libraries (its createPrivateKeyMnemonic uses them).
const bip39 = require('bip39');
const hdkey = require('hdkey');
const fiojsDist = path.dirname(require.resolve('@fioprotocol/fiojs'));
// checkEncrypt/checkDecrypt are not re-exported by fiojs' index.
const { checkEncrypt, checkDecrypt } = require(path.join(fiojsDist, 'encryption-check.js'));
const fiosdkMain = require.resolve('@fioprotocol/fiosdk');
// fiosdk's own content helpers, the ones its requests and OBT records use.
const { getCipherContent, getUnCipherContent } = require(path.join(path.dirname(fiosdkMain), 'utils', 'utils.js'));

const hexBuf = (h) => Buffer.from(h, 'hex');
const secretOf = (a) => Ecc.PrivateKey.fromString(a.wif).getSharedSecret(Ecc.PublicKey.fromString(a.public_key));

const ops = {
  key: (a) => {
    const pub = Ecc.PrivateKey.fromString(a.wif).toPublic().toString();
    return { public_key: pub, account: Fio.accountHash(pub) };
  },
  account: (a) => Fio.accountHash(a.public_key),
  shared_secret: (a) => secretOf(a).toString('hex'),
  sign: (a) => Ecc.sign(hexBuf(a.message_hex), a.wif),
  verify: (a) => Ecc.verify(a.signature, hexBuf(a.message_hex), a.public_key),
  recover: (a) => Ecc.recover(a.signature, hexBuf(a.message_hex)),
  encrypt_raw: (a) => checkEncrypt(secretOf(a), hexBuf(a.plaintext_hex)).toString('hex'),
  decrypt_raw: (a) => checkDecrypt(secretOf(a), hexBuf(a.data_hex)).toString('hex'),
  encrypt_content: (a) => getCipherContent(a.content_type, a.content, a.wif, a.public_key),
  decrypt_content: (a) => getUnCipherContent(a.content_type, a.content, a.wif, a.public_key),
  hd_key: (a) => hdkey.fromMasterSeed(bip39.mnemonicToSeedSync(a.mnemonic)).derive(a.path).privateKey.toString('hex'),
  hash_a: (a) => Fio.createSharedCipher({ privateKey: a.wif, publicKey: a.public_key }).hashA(hexBuf(a.data_hex)),
};

// Benchmark mode: `node peer.js --bench` times the same operations as
// benches/crypto.rs and prints one JSON object of ops/s.
if (process.argv.includes('--bench')) {
  const alice = Ecc.PrivateKey.fromString('5J9bWm2ThenDm3tjvmUgHtWCVMUdjRR1pxnRtnJjvKA4b2ut5WK');
  const bob = Ecc.PrivateKey.fromString('5JoQtsKQuH8hC9MyvfJAqo6qmKLm8ePYNucs7tPu2YxG12trzBt');
  const bobPub = bob.toPublic();
  const msg = Buffer.from('fio-peer benchmark message');
  const sig = Ecc.sign(msg, alice.toWif());
  const alicePub = alice.toPublic().toString();
  const secret = alice.getSharedSecret(bobPub);
  const kib = Buffer.alloc(1024, 7);
  const sealed = checkEncrypt(secret, kib);
  const content = { payee_public_address: 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq', amount: '0.0015', chain_code: 'BTC',
    token_code: 'BTC', memo: 'invoice 1234', hash: null, offline_url: null };
  const sealedContent = getCipherContent('new_funds_content', content, alice.toWif(), bobPub.toString());
  const wif = alice.toWif();
  const bench = (fn) => {
    const budgetMs = 1500;
    let n = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    while (elapsed < budgetMs) {
      for (let i = 0; i < 8; i++) fn();
      n += 8;
      elapsed = Number(process.hrtime.bigint() - start) / 1e6;
    }
    return n / (elapsed / 1000);
  };
  const out = {
    sign: bench(() => Ecc.sign(msg, wif)),
    verify: bench(() => Ecc.verify(sig, msg, alicePub)),
    shared_secret: bench(() => alice.getSharedSecret(bobPub)),
    check_encrypt_1k: bench(() => checkEncrypt(secret, kib)),
    check_decrypt_1k: bench(() => checkDecrypt(secret, sealed)),
    content_encrypt: bench(() => getCipherContent('new_funds_content', content, wif, bobPub.toString())),
    content_decrypt: bench(() => getUnCipherContent('new_funds_content', sealedContent, bob.toWif(), alicePub)),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
}

const rl = readline.createInterface({ input: process.stdin, terminal: false });
rl.on('line', (line) => {
  if (!line.trim()) return;
  let id = null;
  let answer;
  try {
    const req = JSON.parse(line);
    id = req.id;
    const op = ops[req.op];
    if (!op) throw new Error(`unknown op ${req.op}`);
    answer = { id, ok: true, result: op(req.args) };
  } catch (e) {
    answer = { id, ok: false, error: String(e && e.message ? e.message : e) };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
});
