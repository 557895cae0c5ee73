#!/usr/bin/env bash
# Sourced by the scripts: `help_if_asked SCRIPT "$@"` prints SCRIPT's header comment (its usage) and exits 0 when
# any argument is -h or --help.
help_if_asked() {
  local script="$1"; shift
  local a
  for a in "$@"; do
    if [[ "$a" == "-h" || "$a" == "--help" ]]; then
      sed -n '2,/^[^#]/p' "$script" | sed '$d' | sed 's/^# \{0,1\}//'
      exit 0
    fi
  done
}
