package io.distcache.server.cluster;

import io.distcache.protocol.Frame;

/** What a running script may ask of the node (see {@link ScriptHost}). */
public interface ScriptCalls {
  /**
   * Runs one data request now, under the script's hold of the node's keys, and returns its reply.
   * Throws {@link ScriptHost.Refused} when the request names a key the script may not touch here
   * (in a cluster: a key outside the slot of its declared keys).
   */
  Frame call(Frame request);

  /** The script is about to run a write command: from now on SCRIPT KILL cannot stop it. */
  void markWrite();

  /** True once SCRIPT KILL asked the script to stop (polled by the Lua engine as it runs). */
  boolean killRequested();
}
