"""Every chart the stack installs, rendered offline with Helm's own engine (docs/charts.md).

- helm.py          the Helm v4 SDK binding (helm-python-sdk), with kube version and API versions
- capabilities.py  the target cluster's `.Capabilities`
- locate.py        where a chart is read from (charts.source, --charts-dir / INFERENCE_RA_CHARTS_DIR)
- render.py        one chart -> the objects the cluster receives (hooks apart), disk-cached
- plan.py          every chart of a plan (the synth hook-in), and the plan.json `rendered` field
- loaded.py        rendered objects back from a plan directory (validate, check, diff on `--plan DIR`)
"""

from stacks.charts.helm import HelmRenderError
from stacks.charts.locate import ChartSourceError, default_charts_dir
from stacks.charts.plan import PlanCharts, render_plan, rendered_json
from stacks.charts.render import ChartRendering, RenderedObject

__all__ = [
    "ChartRendering",
    "ChartSourceError",
    "HelmRenderError",
    "PlanCharts",
    "RenderedObject",
    "default_charts_dir",
    "render_plan",
    "rendered_json",
]
