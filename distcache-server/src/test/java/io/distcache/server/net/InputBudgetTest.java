package io.distcache.server.net;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The parked clients' share of the node-wide input bound (InputBudget.reserveParked). */
class InputBudgetTest {
  private final InputBudget budget = new InputBudget(16_000);

  @Test
  void reserveParked_oneClientPastASixteenthOfTheLimit_isRefused() {
    assertThat(budget.reserveParked(1_001)).isFalse();
    assertThat(budget.reserveParked(1_000)).isTrue();
    assertThat(budget.usedBytes()).isEqualTo(1_000);
    assertThat(budget.parkedBytes()).isEqualTo(1_000);
    assertThat(budget.refusals()).isEqualTo(1);
  }

  @Test
  void reserveParked_clientsTogether_fillAtMostHalfTheLimit_andOrdinaryRequestsKeepTheRest() {
    for (int i = 0; i < 8; i++) {
      assertThat(budget.reserveParked(1_000)).as("parked client %d", i).isTrue();
    }
    assertThat(budget.reserveParked(1)).as("the parked half is full").isFalse();
    assertThat(budget.resize(0, 8_000)).as("the other half is still there for requests being read").isTrue();

    budget.releaseParked(1_000);
    assertThat(budget.parkedBytes()).isEqualTo(7_000);
    assertThat(budget.resize(0, 500)).isTrue();
    assertThat(budget.reserveParked(1_000)).as("room in the parked half, not in the whole bound").isFalse();
    assertThat(budget.parkedBytes()).as("a refusal changes nothing").isEqualTo(7_000);
    assertThat(budget.usedBytes()).isEqualTo(15_500);
  }

  @Test
  void reserveParked_isNotRefusedBecauseOtherRequestsHoldMoreThanHalf() {
    assertThat(budget.resize(0, 12_000)).isTrue();

    assertThat(budget.reserveParked(1_000)).isTrue();
    assertThat(budget.usedBytes()).isEqualTo(13_000);
  }
}
