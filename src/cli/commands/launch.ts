/** `videomae launch`: run a command as a data-parallel job over c10d (gloo), torchrun-style. */
import { launch } from "../../distributed/launch.ts";
import { commandNames } from "../command_list.ts";
import { num, parseOptions, UsageError, type Command } from "../command.ts";

export const launchCommand: Command = {
  name: "launch",
  help: `Usage: videomae launch --nproc-per-node N [--nnodes M --node-rank R --master-addr HOST --master-port PORT]
                       [--timeout SEC] [--threads T] -- COMMAND [ARGS…]

Starts N ranks of COMMAND on this machine for a data-parallel job of M·N ranks: each gets
torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), joins one
gloo process group (libtorch c10d; rank 0 hosts the rendezvous store), and \`pretrain\` /
\`finetune\` then train data-parallel: rank 0's weights broadcast at start, gradients averaged
before every step, each list sharded by rank with the same per-epoch shuffle, lr scaled by the
global batch (batch-size × ranks), only rank 0 writes the run folder. Output lines carry a
[rank r] prefix. If one rank fails, the others are stopped (SIGTERM, then SIGKILL) and the
launcher exits with its code; Ctrl-C asks every rank to save a checkpoint and stop (--resume
continues). COMMAND is a videomae command, or any program (then it reads the environment itself).

Options:
  --nproc-per-node N   ranks on this machine (required)
  --nnodes M           machines in the job (default 1)
  --node-rank R        this machine's index, 0..M-1 (default 0; node 0 hosts rank 0)
  --master-addr HOST   address of node 0, reachable from every node (default 127.0.0.1)
  --master-port PORT   port of the rendezvous store on node 0 (default: a free port for one
                       node, else 29500)
  --timeout SEC        how long a collective waits for a slow, hung or dead rank (default 300)
  --threads T          torch threads per rank (default: cores / N; OMP_NUM_THREADS wins)
  --grace SEC          seconds between SIGTERM and SIGKILL when stopping ranks (default 10)
  --json               print a JSON summary (per-rank exit codes) at the end

Examples:
  # two ranks on this machine, one thread each
  videomae launch --nproc-per-node 2 -- pretrain --lists train.csv --batch-size 4 --out runs/pt
  # two machines, two ranks each (run the same line on both, with --node-rank 0 / 1;
  # --out on a shared filesystem so every rank can --resume from the same checkpoint)
  videomae launch --nnodes 2 --node-rank 0 --nproc-per-node 2 --master-addr 10.0.0.1 --master-port 29500 \\
    -- pretrain --lists /shared/k400.csv --model pretrain_videomae_base_patch16_224 --out /shared/runs/pt_b`,
  async run(argv) {
    const split = argv.indexOf("--");
    if (split < 0) throw new UsageError("put the command to run after --, e.g. `videomae launch --nproc-per-node 2 -- pretrain --lists a.csv`");
    const { values, positionals } = parseOptions(
      argv.slice(0, split),
      {
        "nproc-per-node": { type: "string" },
        nnodes: { type: "string" },
        "node-rank": { type: "string" },
        "master-addr": { type: "string" },
        "master-port": { type: "string" },
        timeout: { type: "string" },
        threads: { type: "string" },
        grace: { type: "string" },
        json: { type: "boolean" },
      },
      true,
    );
    if (positionals.length) throw new UsageError(`unexpected '${positionals[0]}' before --`);
    if (values["nproc-per-node"] === undefined) throw new UsageError("--nproc-per-node is required");
    const int = (v: string | undefined, dflt: number | undefined, name: string) => {
      if (v === undefined) return dflt;
      const n = num(v, 0, name);
      if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, got '${v}'`);
      return n;
    };
    const timeout = values.timeout === undefined ? undefined : num(values.timeout, 300, "timeout");
    if (timeout !== undefined && !(timeout > 0)) throw new UsageError(`--timeout must be positive, got ${values.timeout}`);
    const names = new Set(commandNames());
    let result;
    try {
      result = await launch({
        command: argv.slice(split + 1),
        nprocPerNode: int(values["nproc-per-node"], 1, "nproc-per-node")!,
        nnodes: int(values.nnodes, 1, "nnodes"),
        nodeRank: int(values["node-rank"], 0, "node-rank"),
        ...(values["master-addr"] ? { masterAddr: values["master-addr"] } : {}),
        ...(values["master-port"] !== undefined ? { masterPort: int(values["master-port"], undefined, "master-port") } : {}),
        ...(timeout !== undefined ? { timeoutSec: timeout } : {}),
        ...(values.threads !== undefined ? { threadsPerProc: int(values.threads, 1, "threads") } : {}),
        ...(values.grace !== undefined ? { graceSec: num(values.grace, 10, "grace") } : {}),
        isVideomaeCommand: (name) => names.has(name),
      });
    } catch (e) {
      if (e instanceof RangeError) throw new UsageError(e.message);
      throw e;
    }
    if (values.json) console.log(JSON.stringify(result));
    return result.exitCode;
  },
};
