"""Loss and accuracy curves drawn with textual-plotext, fed by the engine's events."""

from __future__ import annotations

from textual_plotext import PlotextPlot


def downsample(xs: list[float], ys: list[float], points: int) -> tuple[list[float], list[float]]:
    """At most ``points`` evenly spaced samples, always keeping the last one."""
    if len(xs) <= points:
        return xs, ys
    step = len(xs) / points
    picks = sorted({int(i * step) for i in range(points)} | {len(xs) - 1})
    return [xs[i] for i in picks], [ys[i] for i in picks]


class Curves(PlotextPlot):
    """Named series of (x, y) points. Points added live are drawn at most every
    ``INTERVAL_S`` and only while the screen is shown: plotext renders in Python, and redrawing
    on every batch would keep the event loop from answering keys."""

    INTERVAL_S = 0.5

    def __init__(self, title: str, ylabel: str, order: tuple[str, ...] = (), **kwargs) -> None:
        """``order``: series drawn first, in this order, whenever they were added (plotext
        colours series by drawing order: a resumed run's curves keep their colours)."""
        super().__init__(**kwargs)
        self.title, self.ylabel, self.order = title, ylabel, order
        self.series: dict[str, tuple[list[float], list[float]]] = {}
        self.x_max: float | None = None  # the plot's right edge: the run's last epoch
        self.dirty = False

    def on_mount(self) -> None:
        self.redraw()
        self.set_interval(self.INTERVAL_S, self._flush)

    def _flush(self) -> None:
        if self.dirty and self.screen.is_current:
            self.redraw()

    def clear(self) -> None:
        self.series.clear()
        self.redraw()

    def add(self, name: str, x: float, y: float | None) -> None:
        """A point of series ``name``. A point at or before the series' last one rewinds it
        (a resumed run retrains from its checkpoint: what came after is replaced)."""
        if y is None:
            return
        xs, ys = self.series.setdefault(name, ([], []))
        while xs and xs[-1] >= x:
            xs.pop()
            ys.pop()
        xs.append(x)
        ys.append(y)
        self.dirty = True

    def set_series(self, name: str, xs: list[float], ys: list[float]) -> None:
        self.series[name] = (list(xs), list(ys))
        self.redraw()

    def redraw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.title)
        plt.xlabel("epoch")
        plt.ylabel(self.ylabel)
        right = max([self.x_max or 0] + [xs[-1] for xs, _ in self.series.values() if xs])
        if right:
            plt.xlim(0, right)
            step = max(1, round(right / 8))  # whole epochs on the axis, at most ~9 of them
            plt.xticks(list(range(0, int(right) + 1, step)))
        width = max(20, self.size.width)
        names = [name for name in self.order if name in self.series] + [
            name for name in self.series if name not in self.order]
        for name in names:
            xs, ys = self.series[name]
            if xs:
                sx, sy = downsample(xs, ys, 2 * width)
                plt.plot(sx, sy, label=name, marker="braille")
        self.dirty = False
        self.refresh()
