#!/usr/bin/env bash
# The README's worked example as one script: a new ledger from keys to a verified log.
# Usage: bash docs/quickstart.sh [DIR]   (DIR must not exist yet; default: ./bloc-quickstart)
set -euo pipefail
dir=${1:-bloc-quickstart}
if [ -e "$dir" ]; then echo "quickstart: $dir exists; give a new directory" >&2; exit 2; fi
mkdir -p "$dir"
export BLOC_HOME="$dir/home"
run() { echo; echo "\$ $*"; "$@"; }

run bloc init "$BLOC_HOME" --origin example.org/bloc-quickstart

# A miner's key, kept in the home's keys/ directory.
echo; echo "\$ bloc keys generate lynas --json"
bloc keys generate lynas --json | tee "$dir/lynas.key.json"
keyid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["keyid"])' "$dir/lynas.key.json")
public=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["public_key"])' "$dir/lynas.key.json")

# The registrar registers the participant and its two facilities (JSON Lines).
cat > "$dir/registrations.jsonl" <<JSON
{"kind": "participant", "schema_version": 1, "id": "org:lynas", "name": "Lynas Rare Earths Ltd", "country": "AU", "roles": ["miner", "processor"], "control": [{"holder": "Public shareholders", "country": "AU", "percent": 100, "government": false}], "keys": [{"keyid": "$keyid", "public_key": "$public", "valid_from": "2026-01-01T00:00:00Z"}]}
{"kind": "facility", "schema_version": 1, "id": "fac:lynas-mt-weld", "operator": "org:lynas", "name": "Mt Weld mine and concentrator", "country": "AU", "region": "AU-WA", "stages": ["mining", "beneficiation"]}
{"kind": "facility", "schema_version": 1, "id": "fac:lynas-kuantan", "operator": "org:lynas", "name": "Kuantan separation plant", "country": "MY", "stages": ["cracking_leaching", "separation"]}
JSON
run bloc register "$dir/registrations.jsonl"

# The miner writes two records, signs them and submits them.
cat > "$dir/records.jsonl" <<'JSON'
{"kind": "extraction", "schema_version": 1, "signer": "org:lynas", "facility": "fac:lynas-mt-weld", "extracted_on": "2026-01-30", "source": "mined", "lots": [{"id": "lot:lynas/MW-2026-001", "material": "rare_earth_concentrate", "mass_kg": 25000}]}
{"kind": "transformation", "schema_version": 1, "signer": "org:lynas", "facility": "fac:lynas-kuantan", "stage": "separation", "performed_on": "2026-03-02", "inputs": [{"lot": "lot:lynas/MW-2026-001", "mass_kg": 25000}], "untraced_inputs": [], "outputs": [{"id": "lot:lynas/KU-NDPR-001", "material": "ndpr_oxide", "mass_kg": 5200.5}]}
JSON
run bloc sign "$dir/records.jsonl" --key "$BLOC_HOME/keys/lynas.pem" -o "$dir/records.dsse.jsonl"
run bloc submit "$dir/records.dsse.jsonl"

# Submitting again is harmless; a record that breaks a rule is rejected (exit 5).
run bloc submit "$dir/records.dsse.jsonl"
echo; echo "\$ bloc sign bad.json ...   # a mass finer than one gram is refused before signing"
sed 's/KU-NDPR-001/KU-NDPR-002/; s/"mass_kg": 25000}\]/"mass_kg": 25000.0001}]/' "$dir/records.jsonl" | tail -n 1 > "$dir/bad.json"
bloc sign "$dir/bad.json" --key "$BLOC_HOME/keys/lynas.pem" -o "$dir/bad.dsse.json" 2>&1 || echo "(exit $?)"
echo; echo "\$ bloc submit other.dsse.json   # lynas signs a lot into another participant's namespace"
python3 - "$dir" <<'PY'
import json, sys
rec = {"kind": "extraction", "schema_version": 1, "signer": "org:lynas", "facility": "fac:lynas-mt-weld",
       "extracted_on": "2026-02-01", "source": "mined",
       "lots": [{"id": "lot:mp-materials/X-1", "material": "rare_earth_ore", "mass_kg": 10}]}
open(f"{sys.argv[1]}/other.json", "w").write(json.dumps(rec))
PY
bloc sign "$dir/other.json" --key "$BLOC_HOME/keys/lynas.pem" -o "$dir/other.dsse.json"
bloc submit "$dir/other.dsse.json" 2>&1 || echo "(exit $?)"

# Anyone holding root.json can check the log.
run bloc verify
run bloc log checkpoint
run bloc log prove 3 --json
run bloc log consistency 3 5
