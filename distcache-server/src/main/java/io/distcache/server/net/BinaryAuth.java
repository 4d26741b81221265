package io.distcache.server.net;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.server.security.KeyPattern;
import io.distcache.server.security.User;
import io.distcache.server.security.Users;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;

/*
 * Design: the binary protocol's side of the node's ACL users, with the Redis protocol's rules. Each
 * client connection has one (peers authenticate with the cluster secret and never pass here). An
 * opcode is checked as the Redis command that does the same thing (GET as get, MULTI_SET as mset,
 * FLUSH as flushall, ...), so a user's "+@read ~cache:*" means the same on both protocols; its keys
 * (the key field, or the key list of a MULTI_* request) need read access for a read-only opcode and
 * write access otherwise. Error texts are Redis's, so both protocols say the same thing.
 * SHARD_PUBLISH is SPUBLISH: its key field is a channel, checked against the user's &pattern rules
 * and not against key patterns (Redis marks SPUBLISH's channel "not a key" for ACLs), with Redis's
 * NOPERM text and an ACL LOG entry of reason "channel".
 */

/** Authentication and ACL checks of one binary-protocol client connection. */
final class BinaryAuth {
  static final String NOAUTH = "NOAUTH Authentication required.";
  static final String WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled.";
  static final String DENIED = "DENIED protected mode: the default user has no password and this client is not on"
      + " loopback; set a password (--requirepass) or --protected-mode no (docs/OPERATIONS.md, Security)";
  static final String NOPERM_KEY = "NOPERM No permissions to access a key";
  static final String NOPERM_CHANNEL = "NOPERM No permissions to access a channel";

  private final Users users;
  private String user = Users.DEFAULT;
  private boolean authenticated;

  BinaryAuth(Users users) {
    this.users = users;
  }

  /** True when protected mode must refuse this client (see ProtocolDetector's Redis counterpart). */
  static boolean deniedByProtectedMode(Users users, boolean protectedMode, SocketAddress remote) {
    return protectedMode && users.defaultHasNoPassword() && remote instanceof InetSocketAddress inet
        && inet.getAddress() != null && !inet.getAddress().isLoopbackAddress();
  }

  /** The ACL user this connection runs as. */
  String user() {
    return user;
  }

  /** The reply to an AUTH request. */
  Frame auth(Frame request, String clientAddress) {
    String name = request.key().length == 0 ? Users.DEFAULT : new String(request.key(), StandardCharsets.UTF_8);
    User u = users.authenticate(name, request.value());
    if (u == null) {
      users.log().add("auth", "toplevel", "AUTH", name, "binary addr=" + clientAddress);
      return request.replyError(Status.AUTH_FAILED, WRONGPASS);
    }
    user = u.name();
    authenticated = true;
    return request.replyOk();
  }

  /** The refusal for {@code request}, or null when this connection may run it. */
  Frame refusal(Frame request, String clientAddress) {
    if (!authenticated && users.authRequired()) {
      return request.replyError(Status.AUTH_REQUIRED, NOAUTH);
    }
    User u = users.get(user);
    if (u == null || !u.enabled() && authenticated) {
      return request.replyError(Status.AUTH_REQUIRED, NOAUTH);
    }
    if (u.unrestricted()) {
      return null;
    }
    String command = commandOf(request.op());
    if (!u.allows(command)) {
      users.log().add("command", "toplevel", command, u.name(), "binary addr=" + clientAddress);
      return request.replyError(Status.NO_PERMISSION,
          "NOPERM User " + u.name() + " has no permissions to run the '" + command + "' command");
    }
    if (request.op() == Opcode.SHARD_PUBLISH) {
      return channelRefusal(u, request, clientAddress);
    }
    if (u.allKeys()) {
      return null;
    }
    boolean write = !request.op().readOnly();
    for (byte[] key : keysOf(request)) {
      if (!keyAllowed(u, key, !write, write)) {
        users.log().add("key", "toplevel", new String(key, StandardCharsets.ISO_8859_1), u.name(), "binary addr=" + clientAddress);
        return request.replyError(Status.NO_PERMISSION, NOPERM_KEY);
      }
    }
    return null;
  }

  /** SPUBLISH's rule: the channel (the key field) must match one of the user's &patterns. */
  private Frame channelRefusal(User u, Frame request, String clientAddress) {
    if (u.allChannels()) {
      return null;
    }
    byte[] channel = request.key();
    for (String p : u.channelPatterns()) {
      if (io.distcache.server.resp.GlobMatcher.matchesTrusted(p.getBytes(StandardCharsets.ISO_8859_1), channel)) {
        return null;
      }
    }
    users.log().add("channel", "toplevel", new String(channel, StandardCharsets.ISO_8859_1), u.name(),
        "binary addr=" + clientAddress);
    return request.replyError(Status.NO_PERMISSION, NOPERM_CHANNEL);
  }

  private static List<byte[]> keysOf(Frame request) {
    Opcode op = request.op();
    if (op.keyed()) {
      return List.of(request.key());
    }
    try {
      return switch (op) {
        case MULTI_GET, MULTI_DELETE, MULTI_EXISTS -> ListCodec.decodeKeys(request.value());
        case MULTI_SET, MULTI_SET_IF_ABSENT -> {
          List<byte[]> pairs = ListCodec.decodePairs(request.value());
          List<byte[]> keys = new java.util.ArrayList<>();
          for (int i = 0; i < pairs.size(); i += 2) {
            keys.add(pairs.get(i));
          }
          yield keys;
        }
        default -> List.of();
      };
    } catch (ListCodec.MalformedListException e) {
      return List.of(); // the router answers BAD_REQUEST; nothing is done
    }
  }

  private static boolean keyAllowed(User u, byte[] key, boolean read, boolean write) {
    boolean canRead = !read;
    boolean canWrite = !write;
    for (KeyPattern p : u.keyPatterns()) {
      if ((p.read() && !canRead || p.write() && !canWrite)
          && io.distcache.server.resp.GlobMatcher.matchesTrusted(p.globBytes(), key)) {
        canRead |= p.read();
        canWrite |= p.write();
      }
    }
    return canRead && canWrite;
  }

  /** The Redis command whose ACL permission an opcode needs. */
  static String commandOf(Opcode op) {
    return switch (op) {
      case PING -> "ping";
      case GET -> "get";
      case SET, COMPARE_AND_SET -> "set";
      case DELETE, MULTI_DELETE -> "del";
      case EXISTS, MULTI_EXISTS -> "exists";
      case EXPIRE -> "pexpire";
      case PERSIST -> "persist";
      case TTL -> "pttl";
      case GET_AND_SET -> "getset";
      case GET_AND_DELETE -> "getdel";
      case INCREMENT -> "incrby";
      case INCREMENT_FLOAT -> "incrbyfloat";
      case APPEND -> "append";
      case STRLEN -> "strlen";
      case GET_RANGE -> "getrange";
      case SET_RANGE -> "setrange";
      case MULTI_GET -> "mget";
      case MULTI_SET -> "mset";
      case MULTI_SET_IF_ABSENT -> "msetnx";
      case SCAN -> "scan";
      case FLUSH -> "flushall";
      case SIZE -> "dbsize";
      case STATS -> "info";
      case RANDOM_KEY -> "randomkey";
      case CLUSTER_MEMBERS -> "cluster|slots";
      case CLUSTER_OWNER -> "cluster|keyslot";
      case SHARD_PUBLISH -> "spublish";
      case TRACKING -> "client|tracking";
      default -> op.name().toLowerCase(java.util.Locale.ROOT);
    };
  }
}
