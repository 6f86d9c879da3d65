// A TCP relay for tests: a host that stops answering without closing anything.
#pragma once

#include <QHostAddress>
#include <QList>
#include <QObject>
#include <QPair>
#include <QTcpServer>
#include <QTcpSocket>

namespace htap::test {

/// A TCP relay to the sandbox that can go silent: the host that stops answering without
/// closing anything (a cable pulled, a VM paused), on loopback.
class FreezableProxy : public QObject
{
public:
    explicit FreezableProxy(quint16 upstreamPort)
        : m_upstreamPort(upstreamPort)
    {
        m_server.listen(QHostAddress::LocalHost);
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket* client = m_server.nextPendingConnection()) {
                auto* upstream = new QTcpSocket(client);
                upstream->connectToHost(QHostAddress::LocalHost, m_upstreamPort);
                m_pairs.append(qMakePair(client, upstream));
                connect(client, &QTcpSocket::readyRead, this, [this] { pump(); });
                connect(upstream, &QTcpSocket::readyRead, this, [this] { pump(); });
                connect(upstream, &QTcpSocket::connected, this, [this] { pump(); });
            }
        });
    }
    quint16 port() const { return m_server.serverPort(); }
    void setFrozen(bool frozen)
    {
        m_frozen = frozen;
        pump();
    }

private:
    void pump()
    {
        if (m_frozen)
            return; // hold everything: the peer sees silence, not an error
        for (const auto& [client, upstream] : std::as_const(m_pairs)) {
            if (upstream->state() != QAbstractSocket::ConnectedState)
                continue;
            upstream->write(client->readAll());
            client->write(upstream->readAll());
        }
    }

    QTcpServer m_server;
    quint16 m_upstreamPort;
    bool m_frozen = false;
    QList<QPair<QTcpSocket*, QTcpSocket*>> m_pairs;
};

} // namespace htap::test
