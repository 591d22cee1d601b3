# respond.sh — the helpdesk's side of the challenge/response unblock in shell, for the
# interop tests (sourced): the DESIGN.md code format written independently of
# core/cardpin-code.c, responses computed with the openssl command line, and a driver
# for `cardpin-tool unblock --challenge`. Needs $CARDPIN_TOOL.

# the DESIGN.md code format, written independently of core/cardpin-code.c
format_code () {
  python3 -c '
import sys
hexs = sys.argv[1].upper()
crc = 0xFFFF
for b in hexs.encode():
    crc ^= b << 8
    for _ in range(8):
        crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        crc &= 0xFFFF
print(" ".join(hexs[i:i + 4] for i in range(0, len(hexs), 4)) + "   check %04X" % crc)
' "$1"
}

# challenge line -> response code: E_K(challenge) with the openssl command line
respond () {
  local line="$1" cipher="$2" key="$3" hex resp
  hex=$(printf '%s' "${line%%check*}" | tr -d ' ')
  resp=$(printf '%s' "$hex" | xxd -r -p | openssl enc "$cipher" -K "$key" -nopad | xxd -p | tr -d '\n')
  format_code "$resp"
}

# challenge_unblock READER NEWPIN TYPO RESPONDER...: runs cardpin-tool unblock
# --challenge and answers its challenge with the code `RESPONDER... LINE` prints (LINE:
# the challenge line); with TYPO non-empty a mistyped code goes first. Prints the tool's
# output; returns its status
challenge_unblock () {
  local reader="$1" newpin="$2" typo="$3" line code pid
  shift 3
  coproc TOOL { exec "$CARDPIN_TOOL" unblock --challenge --reader "$reader" --new-pin-fd 4 4<<<"$newpin" 2>&1; }
  pid=$TOOL_PID
  while IFS= read -r line <&"${TOOL[0]}"; do
    echo "$line"
    [[ "$line" =~ check\ [0-9A-F]{4} ]] && break
  done
  code=$("$@" "$line")
  if [ -n "$typo" ]; then
    # first one substituted digit in the first group: the tool must say so and ask again
    echo "$(printf '%s' "${code:0:1}" | tr '0-9A-F' '1-9A-F0')${code:1}" >&"${TOOL[1]}"
  fi
  echo "$code" >&"${TOOL[1]}"
  cat <&"${TOOL[0]}"
  wait "$pid"
}

# openssl_responder CIPHER KEY LINE: the response code for LINE, computed with openssl
openssl_responder () { respond "$3" "$1" "$2"; }

# unblock_challenge READER CIPHER KEY NEWPIN [typo]: challenge_unblock answered with a
# response computed by the openssl command line from the known admin key
unblock_challenge () {
  challenge_unblock "$1" "$4" "${5:-}" openssl_responder "$2" "$3"
}
