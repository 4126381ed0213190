"""The template's CloudWatch dashboard: a parameter turns it off, its body is JSON for every
partition, every widget has a title and a place of its own on the page, and the output links
to the dashboard on the partition's console host.

Which metrics the widgets draw, and that the functions write them, is checked by
tests/tests/dashboard.rs (it runs the functions).
"""

import json
import pathlib
import sys
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import dashboard_body  # noqa: E402

REGIONS = {"us-east-1": "aws", "cn-north-1": "aws-cn", "us-gov-west-1": "aws-us-gov"}
CONSOLE = {
    "us-east-1": "us-east-1.console.aws.amazon.com",
    "cn-north-1": "console.amazonaws.cn",
    "us-gov-west-1": "console.amazonaws-us-gov.com",
}


class Evaluator:
    """The intrinsic functions the dashboard's condition and output use."""

    def __init__(self, tpl, params, region):
        self.tpl = tpl
        self.refs = {
            "AWS::Region": region,
            "AWS::Partition": REGIONS[region],
            "AWS::StackName": "codehooks-test",
            **params,
        }

    def value(self, node):
        if isinstance(node, list):
            return [self.value(n) for n in node]
        if not isinstance(node, dict):
            return node
        (fn, arg), = node.items()
        if fn == "Ref":
            return self.refs.get(arg, "codehooks-test" if arg == "CodehooksDashboard" else f"test-{arg}")
        if fn == "Condition":
            return self.value(self.tpl["Conditions"][arg])
        if fn == "Fn::Equals":
            a, b = self.value(arg)
            return str(a) == str(b)
        if fn == "Fn::Not":
            return not self.value(arg[0])
        if fn == "Fn::If":
            cond, yes, no = arg
            return self.value(yes if self.value(self.tpl["Conditions"][cond]) else no)
        if fn == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            names = {**self.refs, "CodehooksDashboard": "codehooks-test"}
            names.update({k: self.value(v) for k, v in variables.items()})
            return dashboard_body.VARIABLE.sub(lambda m: str(names[m.group(1)]), text)
        raise AssertionError(f"unexpected intrinsic function {fn}")


class TemplateDashboard(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tpl = dashboard_body.template()

    def condition(self, dashboard):
        params = {"Dashboard": dashboard}
        return Evaluator(self.tpl, params, "us-east-1").value({"Condition": "DashboardOn"})

    def test_the_parameter_turns_the_dashboard_and_its_output_off(self):
        p = self.tpl["Parameters"]["Dashboard"]
        self.assertEqual(p["AllowedValues"], ["true", "false"])
        self.assertEqual(p["Default"], "true")
        self.assertEqual(self.tpl["Resources"]["CodehooksDashboard"]["Condition"], "DashboardOn")
        self.assertEqual(self.tpl["Outputs"]["DashboardUrl"]["Condition"], "DashboardOn")
        self.assertTrue(self.condition("true"))
        self.assertFalse(self.condition("false"))
        others = [
            k
            for k, r in self.tpl["Resources"].items()
            if isinstance(r, dict) and r.get("Condition") == "DashboardOn" and k != "CodehooksDashboard"
        ]
        self.assertEqual(others, [], "only the dashboard depends on the parameter")

    def test_the_body_is_json_in_every_partition_with_a_title_per_widget(self):
        for region in REGIONS:
            with self.subTest(region=region):
                doc = dashboard_body.render(region)
                widgets = doc["body"]["widgets"]
                self.assertGreaterEqual(len(widgets), 9)
                for w in widgets:
                    props = w["properties"]
                    self.assertTrue(props.get("title", "").strip(), w)
                    self.assertEqual(props["region"], region, props["title"])
                    self.assertTrue(props["metrics"], props["title"])
                    json.dumps(w)

    def test_widgets_fit_the_page_and_do_not_overlap(self):
        widgets = dashboard_body.render()["body"]["widgets"]
        cells = set()
        for w in widgets:
            self.assertLessEqual(w["x"] + w["width"], 24, w["properties"]["title"])
            mine = {(x, y) for x in range(w["x"], w["x"] + w["width"]) for y in range(w["y"], w["y"] + w["height"])}
            self.assertFalse(cells & mine, f"{w['properties']['title']} overlaps another widget")
            cells |= mine

    def test_the_namespace_parameter_reaches_every_codehooks_metric(self):
        doc = dashboard_body.render(overrides={"MetricsNamespace": "team/ci"})
        text = json.dumps(doc["body"])
        self.assertNotIn('"codehooks"', text)
        self.assertIn('\\"team/ci\\"', text)
        self.assertIn('"team/ci"', text)

    def test_the_output_links_to_the_partitions_console(self):
        output = self.tpl["Outputs"]["DashboardUrl"]["Value"]
        for region, host in CONSOLE.items():
            with self.subTest(region=region):
                url = Evaluator(self.tpl, {}, region).value(output)
                self.assertEqual(
                    url,
                    f"https://{host}/cloudwatch/home?region={region}#dashboards/dashboard/codehooks-test",
                )


if __name__ == "__main__":
    unittest.main()
