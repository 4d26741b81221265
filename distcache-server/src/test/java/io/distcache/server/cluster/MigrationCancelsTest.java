package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ProtocolConstants;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * A joining member's cancels of a join round: sent again until the owner answers, as long as the
 * owner is in the placement and no later round asked it again. Time is the tick's argument.
 */
class MigrationCancelsTest {
  private static final Member X = new Member("a".repeat(40), new Address("127.0.0.1", 7001));
  private static final Member Y = new Member("b".repeat(40), new Address("127.0.0.1", 7002));
  private static final Member L = new Member("c".repeat(40), new Address("127.0.0.1", 7003));
  private static final long SECOND = MigrationCancels.RETRY_NANOS;

  private final Placement placement = Placement.of(2, List.of(X, Y), List.of(L), 64, 1);
  /** The cancels sent, and the replies the test completes. */
  private final List<CompletableFuture<Frame>> replies = new CopyOnWriteArrayList<>();
  private final List<Frame> sent = new CopyOnWriteArrayList<>();
  private final MigrationCancels cancels = new MigrationCancels(TestPeers.answering((to, request) -> {
    sent.add(request);
    CompletableFuture<Frame> reply = new CompletableFuture<>();
    replies.add(reply);
    return reply;
  }));
  private long now = 100 * SECOND;

  private static Frame cancelOf(long round) {
    return Frame.request(Opcode.MIGRATE_PREPARE, 0, L.id().getBytes(StandardCharsets.US_ASCII), null, 2, 7,
        ProtocolConstants.MIGRATE_CANCEL, round);
  }

  private void tick(long nanos) {
    now += nanos;
    cancels.retry(now, placement);
  }

  private void lastReplyFails() {
    replies.get(replies.size() - 1).completeExceptionally(new java.io.IOException("connection closed"));
  }

  private void lastReplyIsOk() {
    CompletableFuture<Frame> r = replies.get(replies.size() - 1);
    r.complete(sent.get(replies.size() - 1).replyOk());
  }

  @Test
  void cancel_lostWithItsConnection_isSentAgainUntilTheOwnerAnswersOk() {
    Frame cancel = cancelOf(1);
    cancels.cancel(X, cancel);
    assertThat(sent).hasSize(1);
    lastReplyFails();

    tick(SECOND / 10);
    assertThat(sent).as("given a retry interval to be answered").hasSize(1);
    tick(SECOND / 2);
    assertThat(sent).hasSize(1);
    tick(SECOND / 2);
    assertThat(sent).hasSize(2);
    assertThat(sent.get(1)).isSameAs(cancel);
    lastReplyFails();
    tick(SECOND / 2);
    assertThat(sent).as("at most once per retry interval").hasSize(2);
    tick(SECOND / 2);
    assertThat(sent).hasSize(3);
    lastReplyIsOk();

    assertThat(cancels.owed()).isZero();
    tick(SECOND);
    tick(SECOND);
    assertThat(sent).hasSize(3);
  }

  @Test
  void cancel_ofARoundWhoseOwnerALaterRoundAsks_isNotSentAgain() {
    cancels.cancel(X, cancelOf(1));
    lastReplyFails();
    cancels.asking(X); // round 2's prepare goes to X: it takes the hold over

    tick(SECOND);
    tick(SECOND);
    assertThat(sent).hasSize(1);
    assertThat(cancels.owed()).isZero();
  }

  @Test
  void cancel_answeredAfterALaterCancelReplacedIt_leavesTheLaterOneOwed() {
    cancels.cancel(X, cancelOf(1));
    cancels.asking(X);
    Frame later = cancelOf(2);
    cancels.cancel(X, later);
    replies.get(0).complete(sent.get(0).replyOk()); // round 1's cancel answered only now
    lastReplyFails();

    tick(SECOND);
    tick(SECOND);
    assertThat(sent).hasSize(3);
    assertThat(sent.get(2)).isSameAs(later);
  }

  @Test
  void cancel_toAnOwnerGoneFromThePlacement_isDropped() {
    cancels.cancel(Y, cancelOf(1));
    lastReplyFails();

    now += SECOND;
    cancels.retry(now, Placement.of(3, List.of(X), List.of(L), 64, 1));
    assertThat(cancels.owed()).as("its holds went with it").isZero();
    tick(SECOND);
    assertThat(sent).hasSize(1);
  }
}
