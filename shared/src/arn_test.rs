use super::*;

#[test]
fn regions_map_to_their_partitions() {
    let table = [
        ("us-east-1", Partition::Aws, "amazonaws.com"),
        ("eu-west-1", Partition::Aws, "amazonaws.com"),
        ("cn-north-1", Partition::AwsCn, "amazonaws.com.cn"),
        ("cn-northwest-1", Partition::AwsCn, "amazonaws.com.cn"),
        ("us-gov-west-1", Partition::AwsUsGov, "amazonaws.com"),
        ("us-iso-east-1", Partition::AwsIso, "c2s.ic.gov"),
        ("us-isob-east-1", Partition::AwsIsoB, "sc2s.sgov.gov"),
        ("eu-isoe-west-1", Partition::AwsIsoE, "cloud.adc-e.uk"),
        ("us-isof-south-1", Partition::AwsIsoF, "csp.hci.ic.gov"),
        ("eusc-de-east-1", Partition::AwsEusc, "amazonaws.eu"),
    ];
    for (region, partition, suffix) in table {
        assert_eq!(Partition::of_region(region), partition, "{region}");
        assert_eq!(partition.dns_suffix(), suffix, "{region}");
        assert_eq!(Partition::from_id(partition.id()), Some(partition));
    }
}

#[test]
fn console_and_service_hosts_follow_the_partition() {
    assert_eq!(
        console_host("eu-west-1"),
        "eu-west-1.console.aws.amazon.com"
    );
    assert_eq!(console_host("cn-north-1"), "console.amazonaws.cn");
    assert_eq!(
        console_host("us-gov-east-1"),
        "console.amazonaws-us-gov.com"
    );
    assert_eq!(
        console_url("cn-north-1", "/codesuite/codebuild/home"),
        "https://console.amazonaws.cn/codesuite/codebuild/home"
    );
    assert_eq!(
        service_host("git-codecommit", "cn-northwest-1"),
        "git-codecommit.cn-northwest-1.amazonaws.com.cn"
    );
    assert_eq!(
        service_host("git-codecommit", "us-gov-west-1"),
        "git-codecommit.us-gov-west-1.amazonaws.com"
    );
}

#[test]
fn arns_carry_the_partition_of_their_region() {
    let china = Arn::new("cn-north-1", "codepipeline", "123456789012", "release");
    assert_eq!(
        china.to_string(),
        "arn:aws-cn:codepipeline:cn-north-1:123456789012:release"
    );
    let gov = Arn::new(
        "us-gov-west-1",
        "codedeploy",
        "123456789012",
        "deploymentgroup:app/blue-green",
    );
    assert_eq!(
        gov.to_string(),
        "arn:aws-us-gov:codedeploy:us-gov-west-1:123456789012:deploymentgroup:app/blue-green"
    );
    assert_eq!(Arn::parse(&gov.to_string()), Ok(gov));
}

#[test]
fn parse_keeps_colons_in_the_resource_and_rejects_the_rest() {
    let a = Arn::parse("arn:aws:codebuild:eu-west-1:123456789012:build/app:3f2a").unwrap();
    assert_eq!(a.resource, "build/app:3f2a");
    assert_eq!(a.partition, Partition::Aws);
    let iam = Arn::parse("arn:aws:iam::123456789012:role/x").unwrap();
    assert_eq!(iam.region, "");

    assert_eq!(Arn::parse("arn:aws:sns"), Err(ArnError::Shape));
    assert_eq!(Arn::parse("urn:aws:sns:r:a:t"), Err(ArnError::Prefix));
    assert!(matches!(
        Arn::parse("arn:awsx:sns:r:a:t"),
        Err(ArnError::Partition(_))
    ));
    assert_eq!(Arn::parse("arn:aws::r:a:t"), Err(ArnError::Service));
    assert_eq!(Arn::parse("arn:aws:sns:r:a:"), Err(ArnError::Resource));
    assert!(is_arn_of("arn:aws-cn:sns:cn-north-1:123456789012:t", "sns"));
    assert!(!is_arn_of("arn:aws:sqs:eu-west-1:123456789012:t", "sns"));
    assert!(matches!(
        Arn::parse_of("arn:aws:sqs:eu-west-1:123456789012:t", "sns"),
        Err(ArnError::WrongService { .. })
    ));
}
