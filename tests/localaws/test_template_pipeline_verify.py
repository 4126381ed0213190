"""pipeline-verify in template.yaml: the deploy-hook binary as a CodePipeline job worker.

The same binary and build as `DeployHookFunction`, deployed as `PipelineVerifyFunction` with its
own log group, dead-letter queue and role. The role holds exactly what a CodePipeline job needs
(answer the job, read the ECS service, read alarms and their tags, publish and claim alerts, its
own logs and queue) and nothing of the lifecycle hooks' (no CodeDeploy, Elastic Load Balancing or
Lambda). `CODEHOOKS_HOOK_CONTRACTS` splits the contracts between the two functions, the timeout
parameter is bounded, the outputs are exported for a pipeline's `Fn::ImportValue`, and the
function has its alarms and its place on the dashboard like every other function.
"""

import json
import pathlib
import re
import sys
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import dashboard_body  # noqa: E402
from test_template_deploy_hook import actions, role_statements, template  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SRC = ROOT / "functions" / "deploy-hook" / "src"


def grants(role):
    """{action: resource} of a role's statements (each action in one statement only)."""
    out = {}
    for s in role_statements(role):
        for a in actions(s):
            if a in out:
                raise AssertionError(f"{a} is granted twice")
            out[a] = s["Resource"]
    return out


def sub(arn):
    return {"Fn::Sub": arn}


ACCOUNT_REGION = "arn:${AWS::Partition}:{service}:${AWS::Region}:${AWS::AccountId}:"

EXPECTED_GRANTS = {
    "logs:CreateLogStream": {"Fn::GetAtt": ["PipelineVerifyLogGroup", "Arn"]},
    "logs:PutLogEvents": {"Fn::GetAtt": ["PipelineVerifyLogGroup", "Arn"]},
    "sqs:SendMessage": {"Fn::GetAtt": ["PipelineVerifyDeadLetterQueue", "Arn"]},
    "sns:Publish": {"Ref": "AlertTopic"},
    "dynamodb:GetItem": {"Fn::GetAtt": ["BuildAlertsTable", "Arn"]},
    "dynamodb:PutItem": {"Fn::GetAtt": ["BuildAlertsTable", "Arn"]},
    "dynamodb:UpdateItem": {"Fn::GetAtt": ["BuildAlertsTable", "Arn"]},
    "dynamodb:DeleteItem": {"Fn::GetAtt": ["BuildAlertsTable", "Arn"]},
    "codepipeline:PutJobSuccessResult": "*",
    "codepipeline:PutJobFailureResult": "*",
    "ecs:DescribeServices": sub(ACCOUNT_REGION.replace("{service}", "ecs") + "service/*"),
    "cloudwatch:DescribeAlarms": "*",
    "cloudwatch:ListTagsForResource": sub(ACCOUNT_REGION.replace("{service}", "cloudwatch") + "alarm:*"),
}


class PipelineVerifyTemplate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tpl = template()
        cls.res = {k: r for k, r in cls.tpl["Resources"].items() if not k.startswith("Fn::ForEach::")}
        cls.fn = cls.res["PipelineVerifyFunction"]
        cls.props = cls.fn["Properties"]
        cls.hook = cls.res["DeployHookFunction"]

    # ---------------------------------------------------------------- parameter ---
    def test_the_timeout_parameter_is_bounded_and_grouped(self):
        p = self.tpl["Parameters"]["PipelineVerifyTimeout"]
        self.assertEqual((p["Type"], p["Default"], p["MinValue"], p["MaxValue"]), ("Number", 120, 10, 900))
        self.assertIn("continuation token", p["Description"])
        groups = self.tpl["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
        hook = next(g for g in groups if g["Label"]["default"] == "Deploy hook")["Parameters"]
        self.assertIn("PipelineVerifyTimeout", hook)
        self.assertEqual(self.props["Timeout"], {"Ref": "PipelineVerifyTimeout"})

    # ----------------------------------------------------------------- function ---
    def test_the_same_binary_as_the_deploy_hook(self):
        self.assertEqual(self.fn["Type"], "AWS::Serverless::Function")
        self.assertEqual(self.fn["Metadata"], self.hook["Metadata"])
        self.assertEqual(self.fn["Metadata"]["BuildProperties"], {"Binary": "deploy-hook"})
        self.assertEqual(self.props["CodeUri"], self.hook["Properties"]["CodeUri"])
        # What the hook sets beside the globals (runtime, architecture, memory, tracing), it
        # shares; its network is the hook's too.
        for key in ("Runtime", "Architectures", "Handler", "MemorySize", "Tracing", "VpcConfig"):
            self.assertEqual(self.props.get(key), self.hook["Properties"].get(key), key)

    def test_its_own_name_role_and_log_group(self):
        self.assertEqual(self.props["FunctionName"], {"Fn::Sub": "${AWS::StackName}-pipeline-verify"})
        self.assertEqual(self.props["Role"], {"Fn::GetAtt": ["PipelineVerifyRole", "Arn"]})
        self.assertEqual(self.props["LoggingConfig"], {"LogGroup": {"Ref": "PipelineVerifyLogGroup"}})
        group = self.res["PipelineVerifyLogGroup"]
        self.assertEqual(group["Type"], "AWS::Logs::LogGroup")
        self.assertEqual(
            group["Properties"],
            {
                "LogGroupName": {"Fn::Sub": "/aws/lambda/${AWS::StackName}-pipeline-verify"},
                "RetentionInDays": {"Ref": "LogRetentionDays"},
            },
        )
        # A stack name of 48 characters (the template's limit) still gives a valid function name.
        self.assertLessEqual(48 + len("-pipeline-verify"), 64)
        self.assertNotIn("Events", self.props, "a pipeline's service role invokes it")

    def test_failed_events_go_to_its_own_dead_letter_queue(self):
        self.assertEqual(
            self.props["EventInvokeConfig"],
            {
                "MaximumRetryAttempts": 2,
                "MaximumEventAgeInSeconds": 3600,
                "DestinationConfig": {
                    "OnFailure": {
                        "Type": "SQS",
                        "Destination": {"Fn::GetAtt": ["PipelineVerifyDeadLetterQueue", "Arn"]},
                    }
                },
            },
        )
        queue = self.res["PipelineVerifyDeadLetterQueue"]
        self.assertEqual(queue["Type"], "AWS::SQS::Queue")
        self.assertEqual(queue["Properties"]["QueueName"], {"Fn::Sub": "${AWS::StackName}-pipeline-verify-dlq"})
        self.assertEqual(queue["Properties"]["KmsMasterKeyId"], {"Ref": "CodehooksKey"})
        self.assertEqual(
            queue["Properties"]["MessageRetentionPeriod"],
            self.res["DeployHookDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"],
        )

    # --------------------------------------------------------------------- role ---
    def test_the_role_grants_exactly_what_a_pipeline_job_needs(self):
        role = self.res["PipelineVerifyRole"]
        trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        self.assertEqual(
            trust, [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
        )
        self.assertEqual(grants(role), EXPECTED_GRANTS)
        for s in role_statements(role):
            self.assertEqual(s["Effect"], "Allow", s.get("Sid"))
            self.assertNotIn("Condition", s, s.get("Sid"))
        # Only the managed policy a function in a VPC needs, only when the hook's network is set.
        self.assertEqual(
            role["Properties"]["ManagedPolicyArns"], self.res["DeployHookRole"]["Properties"]["ManagedPolicyArns"]
        )

    def test_alerts_and_alarm_reads_are_the_hooks_own(self):
        mine, hooks = grants(self.res["PipelineVerifyRole"]), grants(self.res["DeployHookRole"])
        for action in mine:
            if action.split(":")[0] in ("sns", "dynamodb", "cloudwatch"):
                self.assertEqual(mine[action], hooks[action], action)

    def test_no_lifecycle_hook_permission(self):
        role = self.res["PipelineVerifyRole"]
        text = json.dumps(role)
        for service in ("codedeploy:", "elasticloadbalancing:", "lambda:"):
            self.assertNotIn(f'"{service}', text, service)
        self.assertNotIn("lambda:InvokeFunction", text)
        self.assertNotIn("cloudwatch:GetMetricData", text)
        self.assertNotIn("cloudwatch:PutMetricData", text)
        # ... and the hook's role cannot answer a pipeline job.
        self.assertFalse([a for a in grants(self.res["DeployHookRole"]) if a.startswith("codepipeline:")])

    def test_only_this_role_answers_pipeline_jobs(self):
        answering = {
            name
            for name, r in self.res.items()
            if r["Type"] == "AWS::IAM::Role" and "codepipeline:PutJob" in json.dumps(role_statements(r))
        }
        self.assertEqual(answering, {"PipelineVerifyRole"})

    def test_the_wildcard_job_actions_say_why(self):
        lines = TEMPLATE.read_text().splitlines()
        at = next(i for i, l in enumerate(lines) if "codepipeline:PutJobSuccessResult" in l)
        comment = " ".join(l.strip() for l in lines[at - 12 : at] if l.strip().startswith("#"))
        self.assertIn("no resource-level", comment)

    # -------------------------------------------------------------- environment ---
    def test_the_contracts_are_split_between_the_two_functions(self):
        mine = self.props["Environment"]["Variables"]
        hook = self.hook["Properties"]["Environment"]["Variables"]
        self.assertEqual(mine["CODEHOOKS_HOOK_CONTRACTS"], "pipeline")
        self.assertEqual(hook["CODEHOOKS_HOOK_CONTRACTS"], "codedeploy,ecs")
        contract = (SRC / "contract.rs").read_text()
        names = set(re.findall(r'Kind::\w+ => "([a-z]+)"', contract))
        self.assertEqual(names, {"codedeploy", "ecs", "pipeline"}, "the names Kind::as_str gives")
        both = mine["CODEHOOKS_HOOK_CONTRACTS"].split(",") + hook["CODEHOOKS_HOOK_CONTRACTS"].split(",")
        self.assertEqual(sorted(both), sorted(names), "each contract served by exactly one function")

    def test_the_variables_it_gets(self):
        env = self.props["Environment"]["Variables"]
        hook = self.hook["Properties"]["Environment"]["Variables"]
        # The checks are the action's UserParameters: the hook's paths, host name, policy, base
        # URL, Lambda functions and load ceiling are not passed.
        self.assertEqual(
            sorted(env),
            ["CODEHOOKS_ALERTS_TABLE", "CODEHOOKS_HOOK_CONTRACTS", "CODEHOOKS_HOOK_DRY_RUN", "CODEHOOKS_HOOK_FAIL_OPEN"],
        )
        self.assertEqual(env["CODEHOOKS_ALERTS_TABLE"], {"Ref": "BuildAlertsTable"})
        for var in ("CODEHOOKS_ALERTS_TABLE", "CODEHOOKS_HOOK_DRY_RUN", "CODEHOOKS_HOOK_FAIL_OPEN"):
            self.assertEqual(env[var], hook[var], var)
        globals_ = self.tpl["Globals"]["Function"]["Environment"]["Variables"]
        self.assertEqual(globals_["CODEHOOKS_ALERT_TOPIC_ARN"], {"Ref": "AlertTopic"})
        code = "".join(
            p.read_text()
            for folder in (SRC, ROOT / "shared" / "src")
            for p in folder.rglob("*.rs")
            if not p.name.endswith("_test.rs")
        )
        for var in env:
            self.assertIn(f'"{var}"', code, var)

    # ------------------------------------------------------------------ outputs ---
    def test_outputs_are_exported_for_pipelines(self):
        outputs = self.tpl["Outputs"]
        self.assertEqual(outputs["PipelineVerifyFunctionName"]["Value"], {"Ref": "PipelineVerifyFunction"})
        self.assertEqual(outputs["PipelineVerifyFunctionArn"]["Value"], {"Fn::GetAtt": ["PipelineVerifyFunction", "Arn"]})
        for name in ("PipelineVerifyFunctionName", "PipelineVerifyFunctionArn"):
            self.assertEqual(outputs[name]["Export"]["Name"], {"Fn::Sub": f"${{AWS::StackName}}-{name}"}, name)
        self.assertEqual(outputs["PipelineVerifyDeadLetterQueueUrl"]["Value"], {"Ref": "PipelineVerifyDeadLetterQueue"})

    # --------------------------------------------------------- alarms, dashboard ---
    def test_its_alarms_and_dashboard_lines(self):
        alarms = {k: r["Properties"] for k, r in self.res.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
        errors = alarms["PipelineVerifyErrorsAlarm"]
        self.assertEqual((errors["Namespace"], errors["MetricName"]), ("AWS/Lambda", "Errors"))
        self.assertEqual(errors["Dimensions"], [{"Name": "FunctionName", "Value": {"Ref": "PipelineVerifyFunction"}}])
        depth = alarms["PipelineVerifyDeadLetterAlarm"]
        self.assertEqual(
            depth["Dimensions"],
            [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["PipelineVerifyDeadLetterQueue", "QueueName"]}}],
        )
        for name in ("PipelineVerifyErrorsAlarm", "PipelineVerifyDeadLetterAlarm"):
            self.assertEqual(self.res[name]["Condition"], "AlarmsOn", name)
        shown = set(dashboard_body.render()["values"].values())
        self.assertLessEqual({"PipelineVerifyFunction", "PipelineVerifyDeadLetterQueue"}, shown)


if __name__ == "__main__":
    unittest.main()
