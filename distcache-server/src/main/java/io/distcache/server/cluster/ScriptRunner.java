package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ScriptCodec;

/**
 * Runs the Lua of a SCRIPT request (the Redis side of the node provides it: its command table is
 * what {@code redis.call} dispatches into). Called on the script lane with every key of the node
 * held, so nothing else touches the store's keys while it runs.
 */
public interface ScriptRunner {
  /** The reply frame for {@code request} (OK with the RESP reply as its value); never throws. */
  Frame run(Frame request, ScriptCodec.Script script, ScriptCalls calls);
}
