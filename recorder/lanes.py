"""Timeline lanes: where each node of a session is drawn so that nothing covers anything else.

One band of lanes per nesting depth; within a depth a node takes the first lane whose last
node ended by the time it starts (greedy, in start order), so overlapping siblings (threads,
async tasks) get lanes of their own. The viewer's timeline and the Chrome trace export both
lay out with this.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


def assign_lanes(
    depths: Sequence[int] | npt.NDArray[np.integer],
    starts: Sequence[float] | npt.NDArray[np.floating],
    ends: Sequence[float] | npt.NDArray[np.floating],
) -> tuple[npt.NDArray[np.int32], int]:
    """Each node's lane and the number of lanes, for nodes given in start order.

    A depth whose nodes follow one another (the usual case) is one lane, found with numpy;
    only depths with overlaps run the greedy loop."""
    depth = np.asarray(depths)
    x0 = np.asarray(starts, dtype=np.float64)
    x1 = np.asarray(ends, dtype=np.float64)
    lane = np.zeros(len(depth), dtype=np.int32)
    total = 0
    for d in np.unique(depth).tolist():
        rows = np.flatnonzero(depth == d)
        row_starts, row_ends = x0[rows], x1[rows]
        if len(rows) < 2 or np.all(row_starts[1:] >= np.maximum.accumulate(row_ends)[:-1]):
            lane[rows] = total
            total += 1
            continue
        sub, count = _greedy(row_starts.tolist(), row_ends.tolist())
        lane[rows] = total + np.asarray(sub, dtype=np.int32)
        total += count
    return lane, total


def _greedy(starts: list[float], ends: list[float]) -> tuple[list[int], int]:
    """Lanes for overlapping nodes of one depth: the first lane free at each start."""
    lane_ends: list[float] = []
    sub = [0] * len(starts)
    for row, start in enumerate(starts):
        for i, lane_end in enumerate(lane_ends):
            if lane_end <= start:
                lane_ends[i] = ends[row]
                sub[row] = i
                break
        else:
            lane_ends.append(ends[row])
            sub[row] = len(lane_ends) - 1
    return sub, len(lane_ends)
