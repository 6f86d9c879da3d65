# Sourced by the benchmark scripts: writes the seed's order transaction (4.1) as a pgbench
# script. pgbench cannot loop, so every order has 3 items.
#   write_order_script FILE MAX_USER MAX_PRODUCT STATUS
write_order_script() {
    cat > "$1" <<SQL
\set user random(1, $2)
\set p1 random(1, $3)
\set p2 random(1, $3)
\set p3 random(1, $3)
\set q1 random(1, 3)
\set q2 random(1, 3)
\set q3 random(1, 3)
BEGIN;
INSERT INTO orders (user_id, total_amount, status, created_at) VALUES (:user, 100.00, '$4', NOW()) RETURNING order_id \gset
INSERT INTO order_items (order_id, product_id, quantity, price, created_at) VALUES (:order_id, :p1, :q1, 10.00, NOW());
UPDATE inventory SET quantity = quantity - :q1 WHERE product_id = :p1 AND quantity >= :q1;
INSERT INTO order_items (order_id, product_id, quantity, price, created_at) VALUES (:order_id, :p2, :q2, 10.00, NOW());
UPDATE inventory SET quantity = quantity - :q2 WHERE product_id = :p2 AND quantity >= :q2;
INSERT INTO order_items (order_id, product_id, quantity, price, created_at) VALUES (:order_id, :p3, :q3, 10.00, NOW());
UPDATE inventory SET quantity = quantity - :q3 WHERE product_id = :p3 AND quantity >= :q3;
COMMIT;
SQL
}
