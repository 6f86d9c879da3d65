// The HTTP side of htapctl monitor --listen: GET /metrics answers with what a callback gives,
// everything else is 404 (405 for other methods). No authentication: see docs/prometheus.md.
#pragma once

#include <QHostAddress>
#include <QObject>

#include <functional>

class QTcpServer;
class QTcpSocket;

namespace htap::cli {

/// Where --listen asks to serve: "127.0.0.1:9188", "[::1]:9188", "localhost:9188", or a port
/// alone (loopback); port 0 takes any free one. An address must be an IP (or localhost): no name
/// is looked up.
struct ListenAddress {
    QHostAddress address;
    quint16 port = 0;
};
/// false with *error saying what is wrong with text.
bool parseListenAddress(const QString& text, ListenAddress* out, QString* error);

class MetricsEndpoint : public QObject
{
public:
    explicit MetricsEndpoint(std::function<QByteArray()> body, QObject* parent = nullptr);
    /// false with *error when the address cannot be bound (taken, not this machine's).
    bool listen(const ListenAddress& where, QString* error);
    quint16 port() const;
    /// A client gets this long to send its request before it is dropped; the monitor loop never
    /// waits for one (everything here runs from the event loop).
    static constexpr int kRequestTimeoutMs = 5000;
    static constexpr int kMaxRequestBytes = 8192;

private:
    void accept();
    void readRequest(QTcpSocket* socket);
    void respond(QTcpSocket* socket, const QByteArray& status, const QByteArray& contentType, const QByteArray& body,
        bool head = false);

    std::function<QByteArray()> m_body;
    QTcpServer* m_server;
};

} // namespace htap::cli
