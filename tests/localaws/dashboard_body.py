"""The CloudWatch dashboard of template.yaml, rendered for test values.

Prints one JSON document: `body` (the DashboardBody with every `${...}` of its Fn::Sub
resolved), `resources` (logical id -> type of every resource) and `values` (each resolved
resource value -> the logical id it names). Parameters take their defaults (`--param Name=Value`
overrides), pseudo parameters sample values; a reference to a resource `X` becomes `test-X`
(`${X.Attr}` too), so a value in the body names the resource it came from.

    .venv/bin/python tests/localaws/dashboard_body.py [--region eu-west-1] [--param Dashboard=false]
"""

import argparse
import json
import pathlib
import re
import sys

from cfnlint.decode import decode

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
PARTITIONS = {"cn-": "aws-cn", "us-gov-": "aws-us-gov"}


def template():
    tpl, matches = decode(str(TEMPLATE))
    if matches:
        raise SystemExit(f"template.yaml does not parse: {matches}")
    return tpl


def resources(tpl):
    return {k: r["Type"] for k, r in tpl["Resources"].items() if not k.startswith("Fn::ForEach::")}


def partition(region):
    return next((p for prefix, p in PARTITIONS.items() if region.startswith(prefix)), "aws")


def substitute(text, tpl, region, params):
    """`text` with each `${...}` replaced; an unknown name is an error."""
    pseudo = {
        "AWS::Region": region,
        "AWS::Partition": partition(region),
        "AWS::AccountId": "123456789012",
        "AWS::StackName": "codehooks-test",
        "AWS::URLSuffix": "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com",
    }
    res = resources(tpl)
    values = {}

    def one(m):
        name = m.group(1)
        if name in pseudo:
            return pseudo[name]
        if name in params:
            return params[name]
        logical = name.split(".", 1)[0]
        if logical in res:
            value = f"test-{logical}"
            values[value] = logical
            return value
        raise SystemExit(f"the dashboard body names an unknown variable ${{{name}}}")

    out = VARIABLE.sub(one, text).replace("${!", "${")
    return out, values


def render(region="us-east-1", overrides=None):
    """(resource or None, rendered document) for parameters `overrides`."""
    tpl = template()
    params = {k: str(p.get("Default", "")) for k, p in tpl["Parameters"].items()}
    params.update(overrides or {})
    dashboard = tpl["Resources"].get("CodehooksDashboard")
    if dashboard is None:
        raise SystemExit("template.yaml has no CodehooksDashboard")
    sub = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    if not isinstance(sub, str):
        raise SystemExit("the DashboardBody is expected as one Fn::Sub string")
    text, values = substitute(sub, tpl, region, params)
    return {
        "body": json.loads(text),
        "resources": resources(tpl),
        "values": values,
        "parameters": params,
    }


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--param", action="append", default=[])
    a = ap.parse_args(argv)
    overrides = dict(p.split("=", 1) for p in a.param)
    json.dump(render(a.region, overrides), sys.stdout)
    print()


if __name__ == "__main__":
    main(sys.argv[1:])
