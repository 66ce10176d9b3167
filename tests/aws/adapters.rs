//! The AWS adapters' newer calls against moto, through the library: CloudWatch statistics other
//! than Sum, the Lambda flow-control calls, and SNS errors. No command runs these calls on
//! their own yet; the pause tests run them through the binary.

use super::domain;
use super::lambda_front::{DEFAULT_ACCOUNT_CONCURRENCY, LambdaFront};
use super::stack::{Stack, minute_now, moto_url, sdk_config};
use remediator::aws::{AwsSignals, CloudWatchMetrics, LambdaFunctions};
use remediator::domain::observed::Series;
use remediator::ports::{
    Channel, EventSourceMapping, Functions as _, Message, MetricQuery, MetricWindow, Metrics as _,
    PortError, Signals as _, Statistic,
};
use remediator::time::Timestamp;
use std::time::Duration;

fn values(series: &Series) -> Vec<f64> {
    series.points.iter().map(|p| p.value).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_query_gets_its_own_statistic() {
    let stack = Stack::new(&domain("stats"), moto_url()).await;
    let function = format!("tileIngestLambda-{}", stack.dashed());
    // Two invocations in each of two minutes: 100 and 300 ms, then 200 and 600 ms.
    stack
        .put_lambda_metric(
            &function,
            "Duration",
            &[(3, 100.0), (3, 300.0), (2, 200.0), (2, 600.0)],
        )
        .await;
    let metrics = CloudWatchMetrics::new(aws_sdk_cloudwatch::Client::new(
        &sdk_config(moto_url()).await,
    ));
    let query = |statistic| MetricQuery {
        namespace: "AWS/Lambda",
        metric: "Duration",
        dimensions: vec![("FunctionName".to_string(), function.clone())],
        statistic,
    };
    let now = u64::try_from(minute_now()).expect("after 1970");
    let window = MetricWindow {
        start: Timestamp(now - 600),
        end: Timestamp(now + 60),
        period: Duration::from_secs(60),
    };
    let series = metrics
        .fetch(
            &[
                query(Statistic::Sum),
                query(Statistic::Average),
                query(Statistic::Maximum),
            ],
            window,
        )
        .await
        .expect("fetch");
    assert_eq!(values(&series[0]), [400.0, 800.0], "Sum");
    assert_eq!(values(&series[1]), [200.0, 400.0], "Average");
    assert_eq!(values(&series[2]), [300.0, 600.0], "Maximum");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_control_calls_round_trip_through_moto() {
    let stack = Stack::new(&domain("flow"), moto_url()).await;
    let function = stack.function("tileUploadLambda", 120).await;
    let queue = format!("{}-tile-index", stack.dashed());
    stack.queue(&queue, 1, 0, 30).await;
    let uuid = stack.event_source_mapping(&function, &queue, Some(5)).await;

    let front = LambdaFront::start(moto_url()).await;
    let config = sdk_config(&front.endpoint()).await;
    let lambda = LambdaFunctions::new(aws_sdk_lambda::Client::new(&config));

    let mapping = |max| EventSourceMapping {
        uuid: uuid.clone(),
        function: function.clone(),
        queue: queue.clone(),
        state: "Enabled".to_string(),
        max_concurrency: max,
    };
    let listed = lambda.event_source_mappings(&function).await.expect("list");
    assert_eq!(listed, [mapping(Some(5))]);

    lambda
        .set_mapping_concurrency(&uuid, Some(2))
        .await
        .expect("cap");
    assert_eq!(stack.mapping(&uuid).await, ("Enabled".to_string(), Some(2)));
    let listed = lambda.event_source_mappings(&function).await.expect("list");
    assert_eq!(listed, [mapping(Some(2))]);
    // None sends an empty ScalingConfig, which removes the cap.
    lambda
        .set_mapping_concurrency(&uuid, None)
        .await
        .expect("uncap");
    assert_eq!(stack.mapping(&uuid).await, ("Enabled".to_string(), None));
    let listed = lambda.event_source_mappings(&function).await.expect("list");
    assert_eq!(listed, [mapping(None)]);

    assert_eq!(lambda.reserved_concurrency(&function).await, Ok(None));
    lambda
        .set_reserved_concurrency(&function, Some(3))
        .await
        .expect("reserve");
    assert_eq!(stack.reserved_concurrency(&function).await, Some(3));
    assert_eq!(lambda.reserved_concurrency(&function).await, Ok(Some(3)));
    lambda
        .set_reserved_concurrency(&function, None)
        .await
        .expect("release");
    assert_eq!(stack.reserved_concurrency(&function).await, None);
    assert_eq!(lambda.reserved_concurrency(&function).await, Ok(None));

    assert_eq!(
        lambda.account_concurrency().await,
        Ok(DEFAULT_ACCOUNT_CONCURRENCY)
    );
    front.set_account_concurrency(400);
    assert_eq!(lambda.account_concurrency().await, Ok(400));
    assert_eq!(front.account_settings_calls(), 2);

    // Missing things are named.
    let missing = format!("{function}-missing");
    assert_eq!(
        lambda.reserved_concurrency(&missing).await,
        Err(PortError::NotFound {
            resource: format!("function {missing}")
        })
    );
    assert_eq!(
        lambda.event_source_mappings(&missing).await,
        Ok(Vec::new()),
        "a function without mappings has none"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_lacks_get_account_settings() {
    // Why the flow-control tests put a LambdaFront before moto: without it the call fails.
    let config = sdk_config(moto_url()).await;
    let lambda = LambdaFunctions::new(aws_sdk_lambda::Client::new(&config));
    let answer = lambda.account_concurrency().await;
    assert!(
        matches!(answer, Err(ref e) if e.is_transient()),
        "moto answered GetAccountSettings: {answer:?}; the LambdaFront may no longer be needed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_left_off_and_missing_topics_are_named() {
    let stack = Stack::new(&domain("sigerr"), moto_url()).await;
    let config = sdk_config(moto_url()).await;
    let missing = format!(
        "arn:aws:sns:us-east-1:123456789012:{}-missing",
        stack.dashed()
    );
    let policy = remediator::policy::Signals {
        sns_topic_arn: Some(missing.clone()),
        webhook: None,
        flow_control: None,
    };
    let signals = AwsSignals::new(&config, &policy);
    let message = Message {
        subject: "s".to_string(),
        body: "b".to_string(),
    };
    assert_eq!(
        signals.send(Channel::Sns, &message).await,
        Err(PortError::NotFound {
            resource: format!("topic {missing}")
        })
    );
    let off = signals.send(Channel::Webhook, &message).await;
    assert!(
        matches!(&off, Err(PortError::Permanent { message, .. }) if message.contains("webhook channel is not configured")),
        "{off:?}"
    );
}
