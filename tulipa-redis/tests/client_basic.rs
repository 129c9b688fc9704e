//! The client against a real redis-server: RESP2/RESP3, pipelining, errors,
//! AUTH/SELECT, Unix sockets.

mod support;

use std::time::Duration;

use support::RedisServer;
use tulipa_redis::{cmd, Client, RedisError, Value};

#[test]
fn client_set_get_resp2_and_resp3() {
    let server = RedisServer::start();
    for proto in ["2", "3"] {
        let url = format!("{}?protocol={proto}", server.url());
        tulipa::run(async move {
            let c = Client::connect(&url).await.unwrap();
            c.query(cmd("SET").arg("k").arg("v")).await.unwrap();
            assert_eq!(
                c.query(cmd("GET").arg("k")).await.unwrap().as_str(),
                Some("v")
            );
            assert!(c.query(cmd("GET").arg("missing")).await.unwrap().is_nil());
            let h = c.query(cmd("HSET").arg("h").arg("a").arg(1)).await.unwrap();
            assert!(h.as_int().is_some());
            let all = c.query(cmd("HGETALL").arg("h")).await.unwrap();
            if proto == "3" {
                assert!(matches!(all, Value::Map(_)), "{all:?}");
            }
            assert_eq!(all.into_array().unwrap().len(), 2);
        })
        .unwrap();
    }
}

#[test]
fn client_pipelining_matches_replies_in_order() {
    let server = RedisServer::start();
    let url = server.url();
    tulipa::run(async move {
        let c = Client::connect(&url).await.unwrap();
        let cmds: Vec<_> = (0..1000).map(|i| cmd("ECHO").arg(i.to_string())).collect();
        let replies = c.pipeline(cmds).await.unwrap();
        for (i, r) in replies.into_iter().enumerate() {
            assert_eq!(r.unwrap().as_str(), Some(i.to_string().as_str()));
        }
        // Many tasks at once on one connection.
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let c = c.clone();
                tulipa::spawn(async move {
                    let v = c.query(cmd("ECHO").arg(format!("t{i}"))).await.unwrap();
                    assert_eq!(v.as_str(), Some(format!("t{i}").as_str()));
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(c.connects(), 1);
    })
    .unwrap();
}

#[test]
fn client_server_error_carries_message_and_connection_survives() {
    let server = RedisServer::start();
    let url = server.url();
    tulipa::run(async move {
        let c = Client::connect(&url).await.unwrap();
        c.query(cmd("SET").arg("s").arg("x")).await.unwrap();
        let err = c.query(cmd("LPUSH").arg("s").arg("y")).await.unwrap_err();
        assert_eq!(err.code(), Some("WRONGTYPE"));
        assert!(err.to_string().contains("WRONGTYPE"), "{err}");
        let replies = c
            .pipeline(vec![cmd("INCR").arg("s"), cmd("PING")])
            .await
            .unwrap();
        assert!(matches!(replies[0], Err(RedisError::Server(_))));
        assert_eq!(replies[1].as_ref().unwrap().as_str(), Some("PONG"));
    })
    .unwrap();
}

#[test]
fn client_auth_and_select() {
    let server = RedisServer::start();
    let url = server.url();
    let port = server.port;
    tulipa::run(async move {
        let admin = Client::connect(&url).await.unwrap();
        admin
            .query(cmd("CONFIG").arg("SET").arg("requirepass").arg("s3cret"))
            .await
            .unwrap();
        let wrong = Client::connect(&format!("redis://:nope@127.0.0.1:{port}"))
            .await
            .unwrap_err();
        assert!(matches!(wrong, RedisError::Server(_)), "{wrong:?}");
        for proto in ["2", "3"] {
            let c = Client::connect(&format!(
                "redis://:s3cret@127.0.0.1:{port}/5?protocol={proto}"
            ))
            .await
            .unwrap();
            c.query(cmd("SET").arg("in5").arg(proto)).await.unwrap();
        }
        let db0 = Client::connect(&format!("redis://default:s3cret@127.0.0.1:{port}/0"))
            .await
            .unwrap();
        assert!(db0.query(cmd("GET").arg("in5")).await.unwrap().is_nil());
        let db5 = Client::connect(&format!("redis://:s3cret@127.0.0.1:{port}/5"))
            .await
            .unwrap();
        assert_eq!(
            db5.query(cmd("GET").arg("in5")).await.unwrap().as_str(),
            Some("3")
        );
        let noauth = Client::connect(&format!("redis://127.0.0.1:{port}"))
            .await
            .unwrap();
        let err = noauth.query(cmd("GET").arg("x")).await.unwrap_err();
        assert_eq!(err.code(), Some("NOAUTH"));
    })
    .unwrap();
}

#[test]
fn client_unix_socket_with_db_in_query() {
    let server = RedisServer::start_unix();
    let url = format!("{}?db=2", server.url());
    tulipa::run(async move {
        let c = Client::connect(&url).await.unwrap();
        c.query(cmd("SET").arg("u").arg("1")).await.unwrap();
        let info = c.query(cmd("CLIENT").arg("INFO")).await.unwrap();
        assert!(info.as_str().unwrap().contains("db=2"), "{info:?}");
    })
    .unwrap();
}

#[test]
fn client_blocking_command_on_duplicate_does_not_stall_the_other() {
    let server = RedisServer::start();
    let url = server.url();
    tulipa::run(async move {
        let c = Client::connect(&url).await.unwrap();
        let blocking = c.duplicate().await.unwrap();
        let waiter = tulipa::spawn(async move {
            blocking
                .query_blocking(cmd("BLPOP").arg("list").arg("5"), Duration::from_secs(5))
                .await
                .unwrap()
        });
        tulipa::sleep(Duration::from_millis(20)).await;
        // The command connection still answers while the other blocks.
        assert_eq!(c.query(cmd("PING")).await.unwrap().as_str(), Some("PONG"));
        c.query(cmd("RPUSH").arg("list").arg("item")).await.unwrap();
        let got = waiter.await.unwrap().into_array().unwrap();
        assert_eq!(got[1].as_str(), Some("item"));
    })
    .unwrap();
}
