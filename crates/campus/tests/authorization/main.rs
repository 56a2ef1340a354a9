//! The authorization policy as a table ([`policy`]): every method of the four Campus services,
//! called through the real server with a real, valid request by each kind of principal on their
//! own data, on other data of their school and on another school's. The method list comes from
//! reflection, so a new RPC without a line fails here. A refusal must return nothing and write
//! nothing (row counts of every table a call writes, before and after); an answer must hold
//! the target's data.

mod calls;
mod policy;
mod probe;
mod world;

use std::collections::BTreeSet;

use campus_testkit::{Error, SERVICES, TestCampus, spawn_campus};
use policy::{Principal, Target, letter};
use prost::Message as _;
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

use crate::{calls::Cell, probe::Probe, world::World};

#[tokio::test]
async fn every_method_answers_every_principal_as_the_policy_says() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let table = policy::table()?;
    let served = served_methods(&campus).await?;
    let listed: BTreeSet<String> = table.iter().map(|row| row.method.to_owned()).collect();
    let unlisted: Vec<&String> = served.difference(&listed).collect();
    let unserved: Vec<&String> = listed.difference(&served).collect();
    assert!(
        unlisted.is_empty() && unserved.is_empty() && listed.len() == table.len(),
        "methods served without a line: {unlisted:?}; lines of no served method: {unserved:?}; \
         or a method listed twice"
    );

    let world = World::build(&campus).await?;
    let probe = Probe::connect(campus.database_url()).await?;
    let mut failures = Vec::new();
    for row in &table {
        let mut observed_row = Vec::new();
        let mut row_failures = Vec::new();
        for principal in Principal::ALL {
            let mut cell_letters = String::new();
            for target in Target::ALL {
                let expected = row.expected(principal, target);
                if expected == '-' {
                    cell_letters.push('-');
                    continue;
                }
                let Some(subject) = world.subject(principal, target) else {
                    row_failures.push(format!("{principal:?} owns nothing to call {target:?}"));
                    cell_letters.push('-');
                    continue;
                };
                let cell = Cell {
                    world: &world,
                    probe: &probe,
                    target,
                    caller: world.person(principal),
                    subject,
                };
                let observed = calls::call(row.method, &cell)
                    .await?
                    .ok_or_else(|| format!("no request builder for {}", row.method))?;
                let answer = observed
                    .answer
                    .as_ref()
                    .map(|text| text.contains(&observed.expect))
                    .map_err(tonic::Status::code);
                let got = letter(&answer);
                cell_letters.push(got);
                if got != expected {
                    row_failures.push(format!(
                        "{principal:?} on {target:?}: expected {expected}, got {got} ({})",
                        match &observed.answer {
                            Ok(text) if got == 'A' =>
                                format!("answered with {:?}: {text:.300}", observed.expect),
                            Ok(text) =>
                                format!("answered without {:?}: {text:.300}", observed.expect),
                            Err(status) => format!("{:?}: {}", status.code(), status.message()),
                        }
                    ));
                }
                if got != 'A' && !observed.written.is_empty() {
                    row_failures.push(format!(
                        "{principal:?} on {target:?} was refused but wrote {:?}",
                        observed.written
                    ));
                }
            }
            observed_row.push(cell_letters);
        }
        if !row_failures.is_empty() {
            failures.push(format!(
                "{}\n  observed: {} {}\n  {}",
                row.method,
                row.method,
                observed_row.join(" "),
                row_failures.join("\n  ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    campus.shutdown().await
}

/// `Service/Method` of every method of [`SERVICES`] the server describes through reflection.
async fn served_methods(campus: &TestCampus) -> Result<BTreeSet<String>, Error> {
    let mut reflection = ServerReflectionClient::new(campus.channel().await?);
    let requests = SERVICES.map(|service| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol(service.to_owned())),
    });
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter(requests))
        .await?
        .into_inner();
    let mut methods = BTreeSet::new();
    while let Some(answer) = answers.message().await? {
        let Some(MessageResponse::FileDescriptorResponse(files)) = answer.message_response else {
            return Err(format!("reflection answered {answer:?}").into());
        };
        for encoded in files.file_descriptor_proto {
            let file = prost_types::FileDescriptorProto::decode(encoded.as_slice())?;
            for service in &file.service {
                let full = format!("{}.{}", file.package(), service.name());
                if SERVICES.contains(&full.as_str()) {
                    methods.extend(
                        service
                            .method
                            .iter()
                            .map(|method| format!("{}/{}", service.name(), method.name())),
                    );
                }
            }
        }
    }
    Ok(methods)
}
