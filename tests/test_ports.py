"""Ports for the stacks a machine runs side by side come from outside the kernel's ephemeral range, where an
outgoing connection could take one before its server binds it."""

from __future__ import annotations

import socket

from cluster.ports import BELOW, HOST, LOWEST, free_ports


def test_free_ports_are_distinct_bindable_and_outside_the_ephemeral_range():
    ports = free_ports(12)
    assert len(set(ports)) == 12 and all(LOWEST <= port < BELOW for port in ports)
    for port in ports:
        with socket.socket() as sock:
            sock.bind((HOST, port))


def test_a_taken_port_is_not_handed_out(monkeypatch):
    monkeypatch.setattr("cluster.ports.random.shuffle", lambda ports: None)  # lowest first, predictably
    first = free_ports(1)[0]
    with socket.socket() as taken:
        taken.bind((HOST, first))
        taken.listen()
        assert free_ports(1)[0] > first
