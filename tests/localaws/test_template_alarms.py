"""The template's CloudWatch alarms watch what the code really writes.

An alarm on an EMF metric fires only if a record has exactly its namespace, metric name and
dimension set (EMF publishes each record under its one dimension set). So every alarm in the
functions' namespace is checked against the records the Rust sources build: the dimension sets
(`Metrics::new` adds `Function`; `.dimension("X", ..)` adds X), the metric names in the same
record, the `Function` value (a function's `NAME`) and the `Outcome` value (a label the
function's `Outcome::label` can return, or an error kind from `codehooks::Error::kind`).
The other alarms are checked for covering every function and every dead-letter queue.
"""

import pathlib
import re
import unittest

from cfnlint.decode import decode

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

METRIC_CALL = re.compile(r'\.(?:count|millis|bytes|metric)\(\s*"([A-Za-z0-9_]+)"')
DIMENSION_CALL = re.compile(r'\.dimension\(\s*"([A-Za-z0-9_]+)"')
FN_START = re.compile(r"^\s*(?:pub(?:\([a-z]+\))?\s+)?(?:async\s+)?fn\s+(\w+)", re.M)
STRING = re.compile(r'"([A-Za-z][A-Za-z0-9]*)"')


def sources(folder):
    """Non-test Rust sources under `folder`."""
    return [
        p
        for p in sorted(folder.rglob("*.rs"))
        if not p.name.endswith("_test.rs") and p.name != "twins.rs"
    ]


def functions_in(text):
    """(name, body) of each `fn` in `text`; a body runs to the next `fn`."""
    starts = list(FN_START.finditer(text))
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        yield m.group(1), text[m.start() : end]


def crates():
    """Each crate's name (shared, or the function's NAME) and its source files."""
    found = {"shared": sources(ROOT / "shared" / "src")}
    for folder in sorted((ROOT / "functions").iterdir()):
        files = sources(folder / "src")
        names = set()
        for f in files:
            names |= set(re.findall(r'const NAME: &(?:\'static )?str = "([a-z0-9-]+)"', f.read_text()))
        if len(names) != 1:
            raise AssertionError(f"{folder.name}: expected one function NAME, found {names}")
        found[names.pop()] = files
    return found


def records():
    """The EMF records the code builds: (crate, frozenset of dimensions, set of metrics).

    The harness's per-invocation record (shared) also gets what each function's
    `Outcome::record` adds, so those metrics count for that function's harness record.
    """
    found = []
    harness_extra = {}
    for crate, files in crates().items():
        for f in files:
            for name, body in functions_in(f.read_text()):
                if "Metrics::new(" in body:
                    dims = frozenset({"Function", *DIMENSION_CALL.findall(body)})
                    found.append((crate, dims, set(METRIC_CALL.findall(body))))
                elif name == "record" and "&mut Metrics" in body:
                    harness_extra.setdefault(crate, set()).update(METRIC_CALL.findall(body))
    return found, harness_extra


def string_returns(files, entry):
    """String literals the fn `entry` returns, following `self.x()` calls one level."""
    bodies = {}
    for f in files:
        for name, body in functions_in(f.read_text()):
            bodies.setdefault(name, []).append(body)
    seen, todo, out = set(), [entry], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for body in bodies.get(name, []):
            for line in body.splitlines():
                if "=>" in line or line.strip().startswith('"'):
                    out |= set(STRING.findall(line.split("=>")[-1]))
            todo.extend(re.findall(r"self\.(\w+)\(\)", body))
    return out


def error_kinds():
    text = (ROOT / "shared" / "src" / "error.rs").read_text()
    for name, body in functions_in(text):
        if name == "kind":
            return set(re.findall(r'=> "([A-Za-z]+)"', body))
    raise AssertionError("codehooks::Error::kind not found in shared/src/error.rs")


def template():
    tpl, matches = decode(str(TEMPLATE))
    if matches:
        raise AssertionError(f"template.yaml does not parse: {matches}")
    return tpl


def resources(tpl):
    """The plain resources (an `Fn::ForEach::` entry is a loop, not a resource)."""
    return {k: r for k, r in tpl["Resources"].items() if not k.startswith("Fn::ForEach::")}


def alarms(tpl):
    return {
        k: r["Properties"]
        for k, r in resources(tpl).items()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }


def metric_stats(props):
    """(namespace, metric name, {dimension: value}) of each metric an alarm reads."""
    if "Metrics" in props:
        for m in props["Metrics"]:
            if "MetricStat" in m:
                metric = m["MetricStat"]["Metric"]
                yield metric["Namespace"], metric["MetricName"], metric.get("Dimensions", [])
    else:
        yield props["Namespace"], props["MetricName"], props.get("Dimensions", [])


class TemplateAlarms(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tpl = template()
        cls.alarms = alarms(cls.tpl)
        cls.records, cls.harness_extra = records()

    def test_the_scan_finds_the_harness_record(self):
        shared = [(d, m) for c, d, m in self.records if c == "shared"]
        self.assertIn((frozenset({"Function", "Outcome"}), {"DurationMs", "Invocations"}), shared)
        self.assertIn("Failed", string_returns(crates()["deploy-hook"], "label"))
        self.assertIn("AwsError", error_kinds())

    def test_codehooks_alarms_name_what_the_code_writes(self):
        namespace = {"Ref": "MetricsNamespace"}
        default = self.tpl["Parameters"]["MetricsNamespace"]["Default"]
        harness = (ROOT / "shared" / "src" / "harness.rs").read_text()
        self.assertIn(f'"CODEHOOKS_METRICS_NAMESPACE", "{default}"', harness)
        all_crates = crates()
        checked = 0
        for alarm, props in self.alarms.items():
            for ns, metric, dimensions in metric_stats(props):
                if ns != namespace:
                    self.assertTrue(str(ns).startswith("AWS/"), f"{alarm}: namespace {ns}")
                    continue
                checked += 1
                dims = {d["Name"]: d["Value"] for d in dimensions}
                function = dims.get("Function")
                names = sorted(set(all_crates) - {"shared"})
                self.assertIn(function, names, f"{alarm}: Function {function!r}")
                writes = [
                    m | (self.harness_extra.get(function, set()) if c == "shared" else set())
                    for c, d, m in self.records
                    if d == frozenset(dims) and c in ("shared", function)
                ]
                self.assertTrue(
                    any(metric in m for m in writes),
                    f"{alarm}: {function} writes no {metric} with exactly the dimensions {sorted(dims)}",
                )
                if "Outcome" in dims:
                    labels = string_returns(all_crates[function], "label") | error_kinds()
                    self.assertIn(dims["Outcome"], labels, f"{alarm}: Outcome of {function}")
        self.assertGreaterEqual(checked, 5, "the deploy hook's alarms read the EMF metrics")

    def test_every_function_and_dead_letter_queue_has_its_alarm(self):
        res = resources(self.tpl)
        functions = {k for k, r in res.items() if r["Type"] == "AWS::Serverless::Function"}
        queues = {k for k, r in res.items() if k.endswith("DeadLetterQueue") and r["Type"] == "AWS::SQS::Queue"}
        self.assertEqual(len(functions), 5)
        self.assertEqual(len(queues), 6)
        errors, depths = set(), set()
        for alarm, props in self.alarms.items():
            for ns, metric, dimensions in metric_stats(props):
                dims = {d["Name"]: d["Value"] for d in dimensions}
                if (ns, metric) == ("AWS/Lambda", "Errors"):
                    errors.add(dims["FunctionName"]["Ref"])
                if (ns, metric) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible"):
                    depths.add(dims["QueueName"]["Fn::GetAtt"][0])
        self.assertEqual(errors, functions)
        self.assertEqual(depths, queues)

    def test_alarms_notify_the_topic_and_can_be_turned_off(self):
        res = resources(self.tpl)
        policy = res["AlertTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        allowed = [
            s["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
            for s in policy
            if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        ]
        self.assertEqual(len(allowed), 1)
        self.assertTrue(allowed[0].endswith(":alarm:${AWS::StackName}-*"), allowed)
        for alarm, props in self.alarms.items():
            self.assertEqual(res[alarm].get("Condition"), "AlarmsOn", alarm)
            self.assertEqual(props["AlarmActions"], [{"Ref": "AlertTopic"}], alarm)
            self.assertTrue(props["AlarmName"]["Fn::Sub"].startswith("${AWS::StackName}-"), alarm)


if __name__ == "__main__":
    unittest.main()
