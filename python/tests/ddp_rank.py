"""One rank of a data-parallel run of fixture/tiny.py (torchrun's environment: WORLD_SIZE, RANK,
LOCAL_RANK, MASTER_ADDR, MASTER_PORT). Trains into argv[1] and prints one JSON line: this rank,
the SHA-256 of its final weights and its history's losses — every rank must print the same."""
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture"))
import tiny  # noqa: E402

result = tiny.train(out=sys.argv[1], base_dir=os.path.dirname(tiny.__file__), log=lambda line: None)
h = hashlib.sha256()
for name, t in sorted(result["model"].state_dict().items()):
    h.update(name.encode())
    h.update(t.detach().cpu().contiguous().numpy().tobytes())
print(json.dumps({"rank": int(os.environ.get("RANK", "0")), "weights": h.hexdigest(), "loss": [r["loss"] for r in result["history"]], "val_loss": [r.get("val_loss") for r in result["history"]]}))
