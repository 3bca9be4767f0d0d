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

# A miner's key, made on the miner's own machine (no home needed); only lynas.pub.json
# goes to the registrar.
run bloc keys generate lynas --out "$dir/lynas"
keyid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["keyid"])' "$dir/lynas/lynas.pub.json")
public=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["public_key"])' "$dir/lynas/lynas.pub.json")

# The registrar registers the participant and its two facilities (JSON Lines).
cat > "$dir/registrations.jsonl" <<JSON
{"kind": "participant", "schema_version": 1, "issued_at": "2026-01-01T00:00:00Z", "id": "org:lynas", "name": "Lynas Rare Earths Ltd", "country": "AU", "roles": ["miner", "processor"], "control": [{"holder": "Public shareholders", "country": "AU", "percent": 100, "government": false}], "keys": [{"keyid": "$keyid", "public_key": "$public", "valid_from": "2026-01-01T00:00:00Z"}]}
{"kind": "facility", "schema_version": 1, "issued_at": "2026-01-01T00:00:00Z", "id": "fac:lynas-mt-weld", "operator": "org:lynas", "name": "Mt Weld mine and concentrator", "country": "AU", "region": "AU-WA", "stages": ["mining", "beneficiation"]}
{"kind": "facility", "schema_version": 1, "issued_at": "2026-01-01T00:00:00Z", "id": "fac:lynas-kuantan", "operator": "org:lynas", "name": "Kuantan separation plant", "country": "MY", "stages": ["cracking_leaching", "separation"]}
JSON
run bloc register "$dir/registrations.jsonl"

# The miner writes four records (mine, ship to its separator, receive, separate), signs
# them and submits them.
cat > "$dir/records.jsonl" <<'JSON'
{"kind": "extraction", "schema_version": 1, "signer": "org:lynas", "facility": "fac:lynas-mt-weld", "extracted_on": "2026-01-30", "source": "mined", "lots": [{"id": "lot:lynas/MW-2026-001", "material": "rare_earth_concentrate", "mass_kg": 25000}]}
{"kind": "shipment", "schema_version": 1, "signer": "org:lynas", "id": "ship:lynas/S-1000", "from_facility": "fac:lynas-mt-weld", "to_facility": "fac:lynas-kuantan", "shipped_on": "2026-02-03", "lots": ["lot:lynas/MW-2026-001"]}
{"kind": "receipt", "schema_version": 1, "signer": "org:lynas", "shipment": "ship:lynas/S-1000", "facility": "fac:lynas-kuantan", "received_on": "2026-02-20", "lots": [{"lot": "lot:lynas/MW-2026-001", "mass_kg": 25000}]}
{"kind": "transformation", "schema_version": 1, "signer": "org:lynas", "facility": "fac:lynas-kuantan", "stage": "separation", "performed_on": "2026-03-02", "inputs": [{"lot": "lot:lynas/MW-2026-001", "mass_kg": 25000}], "untraced_inputs": [], "outputs": [{"id": "lot:lynas/KU-NDPR-001", "material": "ndpr_oxide", "mass_kg": 5200.5}]}
JSON
run bloc sign "$dir/records.jsonl" --key "$dir/lynas/lynas.pem" -o "$dir/records.dsse.jsonl"
run bloc submit "$dir/records.dsse.jsonl"

# Submitting again is harmless; a record that breaks a rule is rejected (exit 5).
run bloc submit "$dir/records.dsse.jsonl"
echo; echo "\$ bloc sign bad.json ...   # a mass finer than one gram is refused before signing"
sed 's/KU-NDPR-001/KU-NDPR-002/; s/"mass_kg": 25000}\]/"mass_kg": 25000.0001}]/' "$dir/records.jsonl" | tail -n 1 > "$dir/bad.json"
bloc sign "$dir/bad.json" --key "$dir/lynas/lynas.pem" -o "$dir/bad.dsse.json" 2>&1 || echo "(exit $?)"
echo; echo "\$ bloc submit other.dsse.json   # lynas signs a lot into another participant's namespace"
python3 - "$dir" <<'PY'
import json, sys
rec = {"kind": "extraction", "schema_version": 1, "signer": "org:lynas", "facility": "fac:lynas-mt-weld",
       "extracted_on": "2026-02-01", "source": "mined",
       "lots": [{"id": "lot:mp-materials/X-1", "material": "rare_earth_ore", "mass_kg": 10}]}
open(f"{sys.argv[1]}/other.json", "w").write(json.dumps(rec))
PY
bloc sign "$dir/other.json" --key "$dir/lynas/lynas.pem" -o "$dir/other.dsse.json"
bloc submit "$dir/other.dsse.json" 2>&1 || echo "(exit $?)"

# Anyone holding root.json can check the log.
run bloc verify
run bloc log checkpoint
run bloc log prove 3 --json
run bloc log consistency 3 7

# A Japanese magnet maker buys the oxide and makes NdFeB magnets, with iron and boron
# bought outside the ledger (untraced).
run bloc keys generate shinetsu --out "$dir/shinetsu"
keyid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["keyid"])' "$dir/shinetsu/shinetsu.pub.json")
public=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["public_key"])' "$dir/shinetsu/shinetsu.pub.json")
cat > "$dir/shinetsu.jsonl" <<JSON
{"kind": "participant", "schema_version": 1, "issued_at": "2026-01-01T00:00:00Z", "id": "org:shinetsu", "name": "Shin-Etsu Chemical", "country": "JP", "roles": ["processor"], "control": [], "keys": [{"keyid": "$keyid", "public_key": "$public", "valid_from": "2026-01-01T00:00:00Z"}]}
{"kind": "facility", "schema_version": 1, "issued_at": "2026-01-01T00:00:00Z", "id": "fac:shinetsu-takefu", "operator": "org:shinetsu", "name": "Takefu magnet plant", "country": "JP", "stages": ["metal_reduction", "alloy_melting", "powder_formation", "sintering"]}
JSON
run bloc register "$dir/shinetsu.jsonl"
cat > "$dir/ship.json" <<'JSON'
{"kind": "shipment", "schema_version": 1, "signer": "org:lynas", "id": "ship:lynas/S-1001", "from_facility": "fac:lynas-kuantan", "to_facility": "fac:shinetsu-takefu", "shipped_on": "2026-03-10", "lots": ["lot:lynas/KU-NDPR-001"], "end_use": "defense"}
JSON
cat > "$dir/magnets.jsonl" <<'JSON'
{"kind": "receipt", "schema_version": 1, "signer": "org:shinetsu", "shipment": "ship:lynas/S-1001", "facility": "fac:shinetsu-takefu", "received_on": "2026-04-01", "lots": [{"lot": "lot:lynas/KU-NDPR-001", "mass_kg": 5200.5}]}
{"kind": "transformation", "schema_version": 1, "signer": "org:shinetsu", "facility": "fac:shinetsu-takefu", "stage": "metal_reduction", "performed_on": "2026-04-10", "inputs": [{"lot": "lot:lynas/KU-NDPR-001", "mass_kg": 5200.5}], "untraced_inputs": [], "outputs": [{"id": "lot:shinetsu/NDPR-METAL-77", "material": "ndpr_metal", "mass_kg": 4420}]}
{"kind": "transformation", "schema_version": 1, "signer": "org:shinetsu", "facility": "fac:shinetsu-takefu", "stage": "alloy_melting", "performed_on": "2026-04-19", "inputs": [{"lot": "lot:shinetsu/NDPR-METAL-77", "mass_kg": 4420}], "untraced_inputs": [{"material": "iron", "mass_kg": 9700, "declared_origin": "JP"}, {"material": "boron", "mass_kg": 140}], "outputs": [{"id": "lot:shinetsu/ALLOY-77", "material": "ndfeb_alloy", "mass_kg": 14200}]}
{"kind": "transformation", "schema_version": 1, "signer": "org:shinetsu", "facility": "fac:shinetsu-takefu", "stage": "powder_formation", "performed_on": "2026-04-22", "inputs": [{"lot": "lot:shinetsu/ALLOY-77", "mass_kg": 14200}], "untraced_inputs": [], "outputs": [{"id": "lot:shinetsu/POWDER-77", "material": "ndfeb_powder", "mass_kg": 14100}]}
{"kind": "transformation", "schema_version": 1, "signer": "org:shinetsu", "facility": "fac:shinetsu-takefu", "stage": "sintering", "performed_on": "2026-04-25", "inputs": [{"lot": "lot:shinetsu/POWDER-77", "mass_kg": 14100}], "untraced_inputs": [], "outputs": [{"id": "lot:shinetsu/MAGNET-77", "material": "ndfeb_magnet", "mass_kg": 13800}]}
JSON
bloc sign "$dir/ship.json" --key "$dir/lynas/lynas.pem" -o "$dir/ship.dsse.json"
bloc sign "$dir/magnets.jsonl" --key "$dir/shinetsu/shinetsu.pem" -o "$dir/magnets.dsse.jsonl"
run bloc submit "$dir/ship.dsse.json" "$dir/magnets.dsse.jsonl"

# Where did the magnets come from, and may they be delivered under a defense contract?
run bloc trace lot:shinetsu/MAGNET-77
run bloc check lot:shinetsu/MAGNET-77 --policy dfars-252.225-7052 --as-of 2026-11-15
run bloc check lot:shinetsu/MAGNET-77 --policy dfars-252.225-7052 --as-of 2027-02-01 || echo "(exit $?)"
run bloc check lot:shinetsu/MAGNET-77 --policy bloc-2026 --as-of 2026-11-15 || echo "(exit $?)"
run bloc findings
run bloc verify
