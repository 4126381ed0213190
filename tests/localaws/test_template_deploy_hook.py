"""The deploy hook's IAM in template.yaml is least privilege for its three contracts.

CodeDeploy ECS, CodeDeploy Lambda and Amazon ECS's own blue/green lifecycle hooks: the hook's role
may invoke only the Lambda functions the parameter `DeployHookLambdaFunctions` names (each function
and its versions), and only when it names some; the role Amazon ECS assumes for a service's
lifecycle hook trusts only ECS and may invoke only the deploy hook; no role anywhere gets a
`lambda:*` or `*` action. The analysis reads metrics and alarms (DescribeAlarms on "*", as
composite alarms require; alarm tags of this account and region only), and the parameter
`DeployHookMaxLoadRps` caps the load a policy may send. The invoke statement's ARNs are computed
here from the template's own intrinsic functions for sample parameter values, in every partition. The output to paste into an
ECS service is valid JSON naming this stack's function and role, and every variable the template
gives the function is one the code reads.
"""

import json
import pathlib
import re
import unittest

from cfnlint.decode import decode

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
NO_VALUE = object()

STAGES = [
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
]


def template():
    tpl, matches = decode(str(TEMPLATE))
    if matches:
        raise AssertionError(f"template.yaml does not parse: {matches}")
    return tpl


class Evaluator:
    """Evaluates the few intrinsic functions the statements use, for given parameter values."""

    def __init__(self, tpl, params, partition="aws", region="us-east-1"):
        self.tpl = tpl
        self.refs = {
            "AWS::Partition": partition,
            "AWS::Region": region,
            "AWS::AccountId": "123456789012",
            "AWS::NoValue": NO_VALUE,
            **params,
        }

    def condition(self, name):
        return self.value(self.tpl["Conditions"][name])

    def value(self, node):
        if isinstance(node, list):
            return [v for v in (self.value(n) for n in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) != 1 or not next(iter(node)).startswith(("Ref", "Fn::", "Condition")):
            return {k: v for k, v in ((k, self.value(n)) for k, n in node.items()) if v is not NO_VALUE}
        (fn, arg), = node.items()
        if fn == "Ref":
            if arg in self.tpl["Resources"]:
                return node
            if arg not in self.refs:
                raise AssertionError(f"no value for Ref {arg}")
            return self.refs[arg]
        if fn == "Fn::Join":
            return arg[0].join(self.value(arg[1]))
        if fn == "Fn::Split":
            return self.value(arg[1]).split(arg[0])
        if fn == "Fn::If":
            return self.value(arg[1] if self.condition(arg[0]) else arg[2])
        if fn == "Fn::Equals":
            return self.value(arg[0]) == self.value(arg[1])
        if fn == "Fn::Not":
            return not self.value(arg[0])
        if fn == "Condition":
            return self.condition(arg)
        return {fn: arg}


def role_statements(role):
    """Every statement of a role's inline policies, raw (intrinsics unevaluated)."""
    out = []
    for policy in role["Properties"].get("Policies", []):
        out.extend(policy["PolicyDocument"]["Statement"])
    return out


def actions(statement):
    a = statement.get("Action", [])
    return [a] if isinstance(a, str) else list(a)


class DeployHookTemplate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tpl = template()
        cls.res = {k: r for k, r in cls.tpl["Resources"].items() if not k.startswith("Fn::ForEach::")}

    def evaluated_hook_statements(self, functions, partition="aws"):
        ev = Evaluator(self.tpl, {"DeployHookLambdaFunctions": functions, "DeployHookApplicationName": "*"}, partition)
        return ev.value(role_statements(self.res["DeployHookRole"]))

    def invoke_statements(self, statements):
        return [s for s in statements if any(a.startswith("lambda:") for a in actions(s))]

    def test_the_parameter_is_an_optional_list_in_the_deploy_hook_group(self):
        p = self.tpl["Parameters"]["DeployHookLambdaFunctions"]
        self.assertEqual(p["Type"], "CommaDelimitedList")
        self.assertEqual(p["Default"], "")
        groups = self.tpl["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
        hook = next(g for g in groups if g["Label"]["default"] == "Deploy hook")["Parameters"]
        self.assertIn("DeployHookLambdaFunctions", hook)
        grouped = [p for g in groups for p in g["Parameters"]]
        self.assertEqual(sorted(grouped), sorted(self.tpl["Parameters"]), "every parameter in one group")

    def test_invoke_names_only_the_listed_functions_and_their_versions(self):
        for partition in ("aws", "aws-cn", "aws-us-gov"):
            statements = self.evaluated_hook_statements(["orders", "payments-api"], partition)
            invoke = self.invoke_statements(statements)
            self.assertEqual(len(invoke), 1, partition)
            s = invoke[0]
            self.assertEqual(s["Effect"], "Allow")
            self.assertEqual(actions(s), ["lambda:InvokeFunction"])
            prefix = f"arn:{partition}:lambda:${{aws:RequestedRegion}}:${{aws:PrincipalAccount}}:function:"
            self.assertEqual(
                sorted(s["Resource"]),
                sorted(prefix + f for f in ["orders", "orders:*", "payments-api", "payments-api:*"]),
            )
            self.assertEqual(s["Condition"], {"StringEquals": {"aws:RequestedRegion": "us-east-1"}})

    def test_one_function_gives_two_arns(self):
        s = self.invoke_statements(self.evaluated_hook_statements(["orders"]))[0]
        self.assertEqual(len(s["Resource"]), 2)
        self.assertTrue(all(r.split(":function:")[1] in ("orders", "orders:*") for r in s["Resource"]))

    def test_no_listed_function_means_no_invoke_statement(self):
        self.assertEqual(self.invoke_statements(self.evaluated_hook_statements([""])), [])
        env = self.res["DeployHookFunction"]["Properties"]["Environment"]["Variables"]
        ev = Evaluator(self.tpl, {"DeployHookLambdaFunctions": [""]})
        self.assertEqual(ev.value(env["CODEHOOKS_HOOK_LAMBDA_FUNCTIONS"]), "")
        ev = Evaluator(self.tpl, {"DeployHookLambdaFunctions": ["orders", "payments"]})
        self.assertEqual(ev.value(env["CODEHOOKS_HOOK_LAMBDA_FUNCTIONS"]), "orders,payments")

    def test_no_role_has_a_lambda_or_any_wildcard_action(self):
        for name, r in self.res.items():
            if r["Type"] != "AWS::IAM::Role":
                continue
            for s in role_statements(r):
                for a in actions(s):
                    if isinstance(a, str):
                        self.assertNotIn(a, ("*", "lambda:*"), name)
                        if a.startswith("lambda:"):
                            self.assertEqual(a, "lambda:InvokeFunction", name)
                    else:
                        # an Fn::If of action lists
                        self.assertNotIn("lambda:*", json.dumps(a), name)
        for name in ("DeployHookRole", "DeployHookEcsInvokeRole"):
            self.assertNotIn('"lambda:*"', json.dumps(self.res[name]))

    def test_only_the_two_deploy_hook_roles_may_invoke_functions(self):
        invoking = {
            name
            for name, r in self.res.items()
            if r["Type"] == "AWS::IAM::Role" and "lambda:InvokeFunction" in json.dumps(role_statements(r))
        }
        self.assertEqual(invoking, {"DeployHookRole", "DeployHookEcsInvokeRole"})

    def test_the_ecs_role_trusts_only_ecs_and_invokes_only_the_hook(self):
        role = self.res["DeployHookEcsInvokeRole"]["Properties"]
        trust = role["AssumeRolePolicyDocument"]["Statement"]
        self.assertEqual(len(trust), 1)
        self.assertEqual(trust[0]["Effect"], "Allow")
        self.assertEqual(trust[0]["Principal"], {"Service": "ecs.amazonaws.com"})
        self.assertEqual(trust[0]["Action"], "sts:AssumeRole")
        self.assertNotIn("ManagedPolicyArns", role)
        statements = role_statements(self.res["DeployHookEcsInvokeRole"])
        self.assertEqual(len(statements), 1)
        s = statements[0]
        self.assertEqual((s["Effect"], actions(s)), ("Allow", ["lambda:InvokeFunction"]))
        self.assertEqual(
            s["Resource"],
            [{"Fn::GetAtt": ["DeployHookFunction", "Arn"]}, {"Fn::Sub": "${DeployHookFunction.Arn}:*"}],
        )
        self.assertNotIn("Condition", s)

    def test_native_and_lambda_reads_are_scoped(self):
        statements = self.evaluated_hook_statements([""])
        by_action = {}
        for s in statements:
            for a in actions(s):
                by_action.setdefault(a, []).append(s)
        for a in ("ecs:DescribeServiceDeployments", "ecs:DescribeServiceRevisions"):
            (s,) = by_action[a]
            for r in s["Resource"]:
                arn = r["Fn::Sub"]
                self.assertTrue(
                    arn.startswith("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service"), arn
                )
        self.assertEqual(
            sorted(r["Fn::Sub"].rsplit(":", 1)[1] for r in by_action["ecs:DescribeServiceRevisions"][0]["Resource"]),
            ["service-deployment/*", "service-revision/*", "service/*"],
        )
        self.assertFalse([a for a in by_action if a.startswith("ecs:") and not a.startswith("ecs:Describe")])
        (rules,) = by_action["elasticloadbalancing:DescribeRules"]
        self.assertEqual(rules["Resource"], "*")
        (metrics,) = by_action["cloudwatch:GetMetricData"]
        self.assertEqual((actions(metrics), metrics["Resource"]), (["cloudwatch:GetMetricData"], "*"))
        self.assertFalse([a for a in by_action if a.startswith("cloudwatch:") and a not in (
            "cloudwatch:GetMetricData", "cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource")])

    def test_the_alarm_gate_reads_alarms_and_only_this_accounts_alarm_tags(self):
        statements = self.evaluated_hook_statements([""])
        (describe,) = [s for s in statements if "cloudwatch:DescribeAlarms" in actions(s)]
        # Composite alarms are returned only to a DescribeAlarms permission scoped to "*".
        self.assertEqual((actions(describe), describe["Resource"], describe["Effect"]),
                         (["cloudwatch:DescribeAlarms"], "*", "Allow"))
        (tags,) = [s for s in statements if "cloudwatch:ListTagsForResource" in actions(s)]
        self.assertEqual(actions(tags), ["cloudwatch:ListTagsForResource"])
        self.assertEqual(tags["Resource"],
                         {"Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"})
        self.assertNotIn("Condition", describe)
        self.assertNotIn("Condition", tags)

    def test_the_load_ceiling_parameter_caps_analysis_load(self):
        p = self.tpl["Parameters"]["DeployHookMaxLoadRps"]
        self.assertEqual((p["Type"], p["Default"], p["MinValue"], p["MaxValue"]), ("Number", 20, 1, 200))
        self.assertIn("analysis.load.rps", p["Description"])
        groups = self.tpl["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
        hook = next(g for g in groups if g["Label"]["default"] == "Deploy hook")["Parameters"]
        self.assertIn("DeployHookMaxLoadRps", hook)
        env = self.res["DeployHookFunction"]["Properties"]["Environment"]["Variables"]
        self.assertEqual(env["CODEHOOKS_HOOK_MAX_LOAD_RPS"], {"Ref": "DeployHookMaxLoadRps"})
        # The template's default is the code's, and its range lies within what the code accepts (1..=1000).
        spec = (ROOT / "functions" / "deploy-hook" / "src" / "analysis" / "spec.rs").read_text()
        default = re.search(r"pub const DEFAULT_LOAD_CEILING: u32 = (\d+);", spec)
        self.assertIsNotNone(default, "DEFAULT_LOAD_CEILING in analysis/spec.rs")
        self.assertEqual(int(default.group(1)), p["Default"])
        config = (ROOT / "functions" / "deploy-hook" / "src" / "config.rs").read_text()
        bounds = re.search(r'"CODEHOOKS_HOOK_MAX_LOAD_RPS",[^;]*?(\d[\d_]*)\.\.=(\d[\d_]*)', config)
        self.assertIsNotNone(bounds, "the bounds of CODEHOOKS_HOOK_MAX_LOAD_RPS in config.rs")
        lo, hi = (int(b.replace("_", "")) for b in bounds.groups())
        self.assertTrue(lo <= p["MinValue"] and p["MaxValue"] <= hi, (lo, hi))

    def test_the_lifecycle_hook_output_is_json_for_an_ecs_service(self):
        out = self.tpl["Outputs"]["DeployHookEcsLifecycleHook"]["Value"]["Fn::Sub"]
        names = set(re.findall(r"\$\{([^}]+)\}", out))
        self.assertEqual(names, {"DeployHookFunction.Arn", "DeployHookEcsInvokeRole.Arn"})
        entry = json.loads(
            out.replace("${DeployHookFunction.Arn}", "arn:aws:lambda:us-east-1:123456789012:function:CodeDeployHook_x")
            .replace("${DeployHookEcsInvokeRole.Arn}", "arn:aws:iam::123456789012:role/x")
        )
        self.assertEqual(sorted(entry), ["hookTargetArn", "lifecycleStages", "roleArn"])
        self.assertEqual(entry["lifecycleStages"], STAGES)

    def test_exports_for_other_stacks(self):
        outputs = self.tpl["Outputs"]
        for name in ("DeployHookFunctionArn", "DeployHookFunctionName", "DeployHookEcsInvokeRoleArn"):
            self.assertEqual(outputs[name]["Export"]["Name"], {"Fn::Sub": f"${{AWS::StackName}}-{name}"}, name)
        self.assertEqual(outputs["DeployHookEcsInvokeRoleArn"]["Value"], {"Fn::GetAtt": ["DeployHookEcsInvokeRole", "Arn"]})
        # AWSCodeDeployRoleForLambda invokes only functions named CodeDeployHook_*.
        name = self.res["DeployHookFunction"]["Properties"]["FunctionName"]["Fn::Sub"]
        self.assertTrue(name.startswith("CodeDeployHook_"), name)

    def test_every_variable_the_function_gets_is_read_by_the_code(self):
        env = self.res["DeployHookFunction"]["Properties"]["Environment"]["Variables"]
        code = "".join(
            p.read_text()
            for folder in (ROOT / "functions" / "deploy-hook" / "src", ROOT / "shared" / "src")
            for p in folder.rglob("*.rs")
            if not p.name.endswith("_test.rs")
        )
        for var in env:
            self.assertIn(f'"{var}"', code, var)


if __name__ == "__main__":
    unittest.main()
