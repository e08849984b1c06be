/** `videomae launch`: run a command as a data-parallel job over c10d (gloo), torchrun-style. */
import { launch } from "../../distributed/launch.ts";
import { commandNames } from "../command_list.ts";
import { defineCommand, UsageError } from "../command.ts";
import { jsonOutputOption } from "../options/groups.ts";
import { COUNT, NON_NEGATIVE, PORT, POSITIVE, POSITIVE_INT } from "../options/ranges.ts";
import { choice, number, text } from "../options/schema.ts";

export const launchCommand = defineCommand({
  name: "launch",
  usage: `--nproc-per-node N [--nnodes M --node-rank R --master-addr HOST --master-port PORT]
                       [--timeout SEC] [--threads T] -- COMMAND [ARGS…]`,
  description: `Starts N ranks of COMMAND on this machine for a data-parallel job of M·N ranks: each gets
torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), joins one
gloo process group (libtorch c10d; rank 0 hosts the rendezvous store), and \`pretrain\` /
\`finetune\` then train data-parallel: rank 0's weights broadcast at start, gradients averaged
before every step, each list sharded by rank with the same per-epoch shuffle, lr scaled by the
global batch (batch-size × ranks), only rank 0 writes the run folder. Output lines carry a
[rank r] prefix. If one rank fails, the others are stopped (SIGTERM, then SIGKILL) and the
launcher exits with its code; Ctrl-C asks every rank to save a checkpoint and stop (--resume
continues). COMMAND is a videomae command, or any program (then it reads the environment itself).`,
  options: {
    nprocPerNode: number({ valueName: "N", required: true, range: POSITIVE_INT, description: "ranks on this machine" }),
    nnodes: number({ valueName: "M", default: 1, range: POSITIVE_INT, description: "machines in the job" }),
    nodeRank: number({ valueName: "R", default: 0, range: COUNT, description: "this machine's index, 0..M-1 (node 0 hosts rank 0)" }),
    masterAddr: text({ valueName: "HOST", default: "127.0.0.1", description: "address of node 0, reachable from every node" }),
    masterPort: number({ valueName: "PORT", range: PORT, defaultText: "a free port for one node, else 29500", description: "port of the rendezvous store on node 0" }),
    timeout: number({ valueName: "SEC", range: POSITIVE, defaultText: "VIDEOMAE_DIST_TIMEOUT, else 300", description: "how long a collective waits for a slow, hung or dead rank" }),
    threads: number({ valueName: "T", range: POSITIVE_INT, defaultText: "cores / N; OMP_NUM_THREADS wins", description: "torch threads per rank" }),
    grace: number({ valueName: "SEC", default: 10, range: NON_NEGATIVE, description: "seconds between SIGTERM and SIGKILL when stopping ranks" }),
    backend: choice(["auto", "nccl", "gloo"], {
      default: "auto",
      description: "collective backend of the ranks: nccl (GPU tensors; one GPU per rank, cuda:LOCAL_RANK), gloo (CPU tensors), auto (nccl when the addon has it and a GPU is visible, else gloo)",
    }),
    ...jsonOutputOption("a summary (per-rank exit codes) at the end"),
  },
  operands: true,
  epilogue: `Examples:
  # two ranks on this machine, one thread each
  videomae launch --nproc-per-node 2 -- pretrain --lists train.csv --batch-size 4 --out runs/pt
  # two machines, two ranks each (run the same line on both, with --node-rank 0 / 1;
  # --out on a shared filesystem so every rank can --resume from the same checkpoint)
  videomae launch --nnodes 2 --node-rank 0 --nproc-per-node 2 --master-addr 10.0.0.1 --master-port 29500 \\
    -- pretrain --lists /shared/k400.csv --model pretrain_videomae_base_patch16_224 --out /shared/runs/pt_b`,
  async run(values, positionals, argv) {
    const split = argv.indexOf("--");
    if (split < 0) throw new UsageError("put the command to run after --, e.g. `videomae launch --nproc-per-node 2 -- pretrain --lists a.csv`");
    const command = argv.slice(split + 1);
    const before = positionals.slice(0, positionals.length - command.length);
    if (before.length) throw new UsageError(`unexpected '${before[0]}' before --`);
    const names = new Set(commandNames());
    let result;
    try {
      result = await launch({
        command,
        nprocPerNode: values.nprocPerNode,
        nnodes: values.nnodes,
        nodeRank: values.nodeRank,
        masterAddr: values.masterAddr,
        masterPort: values.masterPort,
        timeoutSec: values.timeout,
        threadsPerProc: values.threads,
        graceSec: values.grace,
        backend: values.backend as "auto" | "nccl" | "gloo",
        isVideomaeCommand: (name) => names.has(name),
      });
    } catch (e) {
      if (e instanceof RangeError) throw new UsageError(e.message);
      throw e;
    }
    if (values.json) console.log(JSON.stringify(result));
    return result.exitCode;
  },
});
