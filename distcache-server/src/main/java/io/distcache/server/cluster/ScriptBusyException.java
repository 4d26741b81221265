package io.distcache.server.cluster;

/**
 * A request could not take its keys because a script has held them for longer than the busy
 * threshold: answered SCRIPT_BUSY (Redis's -BUSY), with nothing done.
 */
final class ScriptBusyException extends RuntimeException {
  ScriptBusyException() {
    super(ScriptHost.BUSY_MESSAGE, null, false, false);
  }
}
