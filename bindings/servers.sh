# Sourced by bindings/test.sh and ios/run-tests.sh (from the repository
# root, with $work a scratch directory and a `pids` array): start_servers
# runs a fio-devnet and a fio-inbox on loopback ports, fresh each time (FIP-3
# state lives on the chain and would carry over), and exports their URLs as
# FIO_TEST_DEVNET and FIO_TEST_RELAY; FIO_TEST_REFUSING is the URL of an
# inbox that refuses every envelope for good (bindings/refusing_inbox.py).
# The relay may push to loopback receivers (--push-allow-insecure). bindings/genesis.json gives Alice and
# Bob (keys from the fiojs vectors) FIO for FIP-3's fees.

export FIO_TEST_CHAIN_ID=cf057bbfb72640471fd910bcb67639c22df9f92470936cddc1ade0e2f2e7dc4f

listening() {  # the address a server printed, waiting up to 10 s
  for _ in $(seq 100); do
    addr=$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$1" | head -1)
    [ -n "$addr" ] && { echo "http://$addr"; return; }
    sleep 0.1
  done
  echo "no address in $1:" >&2; cat "$1" >&2; return 1
}

start_servers() {
  local dir
  dir=$(mktemp -d -p "$work")
  target/debug/fio-devnet --listen 127.0.0.1:0 --genesis bindings/genesis.json --database "$dir/devnet.sqlite" >"$dir/devnet.log" 2>&1 &
  pids+=($!)
  target/debug/fio-inbox --listen 127.0.0.1:0 --database "$dir/relay.sqlite" --no-rate-limits \
    --push-allow-insecure --push-coalesce 0.5 >"$dir/relay.log" 2>&1 &
  pids+=($!)
  python3 bindings/refusing_inbox.py >"$dir/refusing.log" 2>&1 &
  pids+=($!)
  FIO_TEST_DEVNET=$(listening "$dir/devnet.log")
  FIO_TEST_RELAY=$(listening "$dir/relay.log")
  FIO_TEST_REFUSING="$(listening "$dir/refusing.log")/v1/inboxes/abababababababababababababababab"
  export FIO_TEST_DEVNET FIO_TEST_RELAY FIO_TEST_REFUSING
}
