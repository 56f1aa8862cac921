"""Data-parallel training under torchrun (`torchrun --nproc_per_node N module.py …`).

torchrun's environment (WORLD_SIZE > 1, RANK, LOCAL_RANK, MASTER_ADDR/PORT) turns it on: a
process group (gloo on the CPU, NCCL on CUDA, LOCAL_RANK picking the GPU), the model wrapped
in DistributedDataParallel, and each global batch — the recipe's `batch` samples, in the order
every rank draws alike from the shared seeded stream — cut into WORLD_SIZE equal parts, rank r
training on part r. DDP averages the gradients; each rank's loss is weighted by its share of
the batch, so a batch cut unevenly (the last, short one) still gives the whole batch's mean
gradient. Metrics are summed over the ranks (in float64) so every rank logs the same numbers;
only rank 0 writes files and prints. Without torchrun nothing here does anything.

Any launcher that sets torchrun's variables works: `nnc train --nproc N` starts the N processes
itself with WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR=127.0.0.1 and a free MASTER_PORT (as the
tests do); Debian's torch 1.13 `torchrun` fails on Python 3.11 before starting a worker unless
given `--redirects 2 --tee 2` (its `Std.from_str` finds no member for "0").
"""
import os
import warnings

import torch


class World:
    """The processes of a run: `size` 1 and `rank` 0 without torchrun."""

    def __init__(self, size=1, rank=0, local_rank=0, active=False):
        self.size = size
        self.rank = rank
        self.local_rank = local_rank
        self.active = active

    @property
    def main(self):
        return self.rank == 0

    def sum(self, values, device):
        """The element-wise sum over every rank of a list of floats (float64), as a list."""
        t = torch.tensor(values, dtype=torch.float64, device=device)
        if self.active:
            torch.distributed.all_reduce(t)
        return t.tolist()

    def any(self, flag, device):
        return self.sum([1.0 if flag else 0.0], device)[0] > 0

    def gather(self, obj):
        """Every rank's `obj`, in rank order (only rank 0's when alone)."""
        if not self.active:
            return [obj]
        out = [None] * self.size
        torch.distributed.all_gather_object(out, obj)
        return out

    def broadcast(self, obj):
        """Rank 0's `obj` on every rank."""
        if not self.active:
            return obj
        box = [obj]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self):
        if self.active:
            torch.distributed.barrier()

    def close(self):
        if self.active and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
            self.active = False


def world_from_env():
    """The World torchrun's environment describes (WORLD_SIZE, RANK, LOCAL_RANK), not yet joined."""
    try:
        size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise ValueError("WORLD_SIZE, RANK and LOCAL_RANK must be whole numbers (torchrun sets them)") from None
    return World(size, rank, local, False)


def join(world, device):
    """Joins the process group (gloo on the CPU, NCCL on CUDA); returns the device this rank uses."""
    if world.size <= 1:
        return device
    if device.type == "cuda":
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        backend = "gloo"
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend=backend)
    world.active = True
    return device


def check_batch(world, batch):
    """Refuses a global batch that the ranks cannot share equally (a message for the user), else None."""
    if world.size > 1 and batch % world.size != 0:
        return (
            "The recipe's batch of %d samples cannot be split equally over %d processes: the batch is the global batch, "
            "cut into one equal part per process. Use a batch that %d divides, or another --nproc_per_node."
            % (batch, world.size, world.size)
        )
    return None


def wrap(world, model, device):
    """The model in DistributedDataParallel when distributed, else as it is."""
    if not world.active:
        return model
    from torch.nn.parallel import DistributedDataParallel

    # PyTorch 1.x warns, on the first backward, of a weight whose gradient's strides differ from
    # its bucket's only in a dimension of size 1 (a conv over 1 input channel): the same memory
    # layout, "not an error" as the warning says itself, and not raised by PyTorch 2.
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def part(world, n):
    """This rank's slice [start, stop) of a global batch of `n` samples (as even as possible)."""
    base, extra = divmod(n, world.size)
    start = world.rank * base + min(world.rank, extra)
    return start, start + base + (1 if world.rank < extra else 0)
