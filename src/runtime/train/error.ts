/** A training run that cannot go on: a message for the user, no stack trace. */
export class TrainError extends Error {
  override name = "TrainError";
  /**
   * Set when Ctrl-C stopped the run (`interruptible`): the epochs its checkpoint holds (0: none
   * finished, nothing to resume) and the run folder to resume from.
   */
  interrupted?: { epoch: number; runDir: string | undefined };
}
